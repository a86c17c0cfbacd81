import type { PostgresStorage } from '../../engine/postgres/storage.ts'
import type { DmStore } from './store.ts'

const MIGRATIONS = [
  `
  CREATE TABLE dm_users (
    room text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id text NOT NULL,
    PRIMARY KEY (room, user_id)
  );
  CREATE INDEX dm_users_by_user ON dm_users (user_id, room);
  `
]

/** Direct messages on PostgreSQL: a row per (DM room, participant), deleted with the room. */
export function postgresDms (storage: PostgresStorage): DmStore {
  const { sql } = storage
  storage.migrate('direct-messages', MIGRATIONS)
  return {
    async save (room, users) {
      // One statement for every participant: they are recorded together or not at all.
      await sql.query('INSERT INTO dm_users (room, user_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING', [room, users])
    },
    async roomsOf (user) {
      // COLLATE "C": ids sort by code point, as SQLite's BINARY does, whatever the database's collation.
      const { rows } = await sql.query<{ room: string }>('SELECT room FROM dm_users WHERE user_id = $1 ORDER BY room COLLATE "C"', [user])
      return rows.map((row) => row.room)
    },
    async areDms (rooms) {
      if (rooms.length === 0) return []
      const { rows } = await sql.query<{ room: string }>('SELECT DISTINCT room FROM dm_users WHERE room = ANY($1::text[])', [rooms])
      const dms = new Set(rows.map((row) => row.room))
      return rooms.map((room) => dms.has(room))
    }
  }
}
