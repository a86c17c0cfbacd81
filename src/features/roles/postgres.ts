import type { PostgresStorage } from '../../engine/postgres/storage.ts'
import type { Role, UserRole } from './schemas.ts'
import type { RolesStore } from './store.ts'

const MIGRATIONS = [
  `
  CREATE TABLE room_roles (
    room text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id text NOT NULL,
    role text NOT NULL,
    PRIMARY KEY (room, user_id)
  );
  `
]

/**
 * Room roles on PostgreSQL: one row per (room, user), deleted with the room. Read at every use
 * of a power, not cached: a role given or taken away on any node applies at the next frame.
 */
export function postgresRoles (storage: PostgresStorage): RolesStore {
  const { sql } = storage
  storage.migrate('roles', MIGRATIONS)
  return {
    async setRole (room, user, role) {
      // One statement: the room's row, locked as a foreign key check would, is the existence check (a room being deleted is waited for, then not found).
      const { rowCount } = await sql.query(`INSERT INTO room_roles (room, user_id, role)
        SELECT id, $2, $3 FROM rooms WHERE id = $1 FOR KEY SHARE
        ON CONFLICT (room, user_id) DO UPDATE SET role = excluded.role`, [room, user, role])
      return rowCount === 1
    },
    async removeRole (room, user) {
      await sql.query('DELETE FROM room_roles WHERE room = $1 AND user_id = $2', [room, user])
    },
    async roleOf (room, user) {
      const { rows } = await sql.query<{ role: Role }>('SELECT role FROM room_roles WHERE room = $1 AND user_id = $2', [room, user])
      return rows[0]?.role
    },
    // COLLATE "C": ids sort by code point, as SQLite's BINARY does, whatever the database's collation.
    async roles (room) {
      const { rows } = await sql.query<UserRole>('SELECT user_id AS "user", role FROM room_roles WHERE room = $1 ORDER BY user_id COLLATE "C"', [room])
      return rows
    },
    async rolesOf (user) {
      const { rows } = await sql.query<{ room: string, role: Role }>('SELECT room, role FROM room_roles WHERE user_id = $1 ORDER BY room COLLATE "C"', [user])
      return rows
    }
  }
}
