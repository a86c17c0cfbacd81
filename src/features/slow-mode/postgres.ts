import type { PostgresStorage } from '../../engine/postgres/storage.ts'
import type { SlowModeStore } from './store.ts'

/** Each user's last message in a slow room, by the database's clock (nodes' clocks may differ). */
const MIGRATIONS = [
  `
  CREATE TABLE slow_mode_sends (
    room text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id text NOT NULL,
    sent_ms bigint NOT NULL,
    PRIMARY KEY (room, user_id)
  );
  `
]

/**
 * Slow mode on PostgreSQL: one statement reads the room's own interval (a change made on any
 * node holds at once) and claims the user's turn when it has come, so a user's sends on two
 * nodes count together. Only messages in a slow room get here (the plugin knows a room's
 * interval), so a room without slow mode costs nothing.
 */
export function postgresSlowMode (storage: PostgresStorage): SlowModeStore {
  storage.migrate('slow-mode', MIGRATIONS)
  return {
    async claim (room, user, intervalMs) {
      if (intervalMs <= 0) return 0
      const { rows } = await storage.sql.query<{ wait: number }>(`WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms),
        room AS (SELECT slow_mode_ms AS interval FROM rooms WHERE id = $1),
        last AS (SELECT sent_ms FROM slow_mode_sends WHERE room = $1 AND user_id = $2),
        claimed AS (
          INSERT INTO slow_mode_sends (room, user_id, sent_ms)
          SELECT $1, $2, now.ms FROM now, room WHERE room.interval > 0
          ON CONFLICT (room, user_id) DO UPDATE SET sent_ms = excluded.sent_ms
          WHERE slow_mode_sends.sent_ms + (SELECT interval FROM room) <= excluded.sent_ms
          RETURNING 1)
        SELECT CASE WHEN EXISTS (SELECT 1 FROM claimed) OR room.interval IS NULL OR room.interval <= 0 THEN 0
          ELSE GREATEST(1, COALESCE((SELECT sent_ms FROM last), 0) + room.interval - now.ms) END AS wait
        FROM now LEFT JOIN room ON true`, [room, user])
      return rows[0]?.wait ?? 0
    }
  }
}
