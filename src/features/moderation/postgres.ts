import type { PostgresStorage } from '../../engine/postgres/storage.ts'
import type { SanctionKind } from './schemas.ts'
import type { SanctionRecord, SanctionsStore } from './store.ts'

// `until` stays Unix ms (bigint) as on SQLite: the port speaks ms and only the caller's clock compares it.
const MIGRATIONS = [
  `
  CREATE TABLE room_sanctions (
    room text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id text NOT NULL,
    kind text NOT NULL,
    until bigint,
    reason text,
    PRIMARY KEY (room, user_id, kind)
  );
  `
]

/**
 * Bans and mutes on PostgreSQL: one row per (room, user, kind), deleted with the room. Nothing
 * is cached here: the plugin's SanctionsCache (the same on every engine) keeps each node's copy,
 * refreshed by the `sanctions` event and its age.
 */
export function postgresSanctions (storage: PostgresStorage): SanctionsStore {
  const { sql } = storage
  storage.migrate('moderation', MIGRATIONS)
  return {
    async kicked (room, user, reason) {
      await storage.inRoom(room, async (tx) => {
        if (await storage.messages.latestSeq(tx, room) !== undefined) await storage.record(tx, 'member.kicked', room, new Date().toISOString(), { user, reason })
      })
    },
    async set (room, record) {
      // One statement: the room's row, locked as a foreign key check would, is the existence check (a room being deleted is waited for, then not found).
      const { rowCount } = await sql.query(`INSERT INTO room_sanctions (room, user_id, kind, until, reason)
        SELECT id, $2, $3, $4, $5 FROM rooms WHERE id = $1 FOR KEY SHARE
        ON CONFLICT (room, user_id, kind) DO UPDATE SET until = excluded.until, reason = excluded.reason`,
      [room, record.user, record.kind, record.until, record.reason])
      return rowCount === 1
    },
    async remove (room, user, kind: SanctionKind) {
      await sql.query('DELETE FROM room_sanctions WHERE room = $1 AND user_id = $2 AND kind = $3', [room, user, kind])
    },
    async ofRoom (room) {
      // COLLATE "C": ids sort by code point, as SQLite's BINARY does, whatever the database's collation.
      const { rows } = await sql.query<SanctionRecord>(`SELECT user_id AS "user", kind, until, reason FROM room_sanctions
        WHERE room = $1 ORDER BY kind COLLATE "C", user_id COLLATE "C"`, [room])
      return rows
    }
  }
}
