import type { LocalStorage } from '../../engine/local/storage.ts'
import type { Role, UserRole } from './schemas.ts'
import type { RolesStore } from './store.ts'

const MIGRATIONS = [
  `
  CREATE TABLE room_roles (
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (room, user)
  );
  `
]

/** Room roles on SQLite: one row per (room, user), deleted with the room. */
export function sqliteRoles (storage: LocalStorage): RolesStore {
  const { db, messages } = storage
  storage.migrate('roles', MIGRATIONS)
  const statements = {
    set: db.prepare<[string, string, string]>('INSERT INTO room_roles (room, user, role) VALUES (?, ?, ?) ON CONFLICT (room, user) DO UPDATE SET role = excluded.role'),
    remove: db.prepare<[string, string]>('DELETE FROM room_roles WHERE room = ? AND user = ?'),
    get: db.prepare<[string, string], { role: Role }>('SELECT role FROM room_roles WHERE room = ? AND user = ?'),
    all: db.prepare<[string], UserRole>('SELECT user, role FROM room_roles WHERE room = ? ORDER BY user'),
    ofUser: db.prepare<[string], { room: string, role: Role }>('SELECT room, role FROM room_roles WHERE user = ? ORDER BY room')
  }
  const set = db.transaction((room: string, user: string, role: Role) => {
    if (messages.latestSeq(room) === undefined) return false
    statements.set.run(room, user, role)
    return true
  })
  return {
    async setRole (room, user, role) {
      return set(room, user, role)
    },
    async removeRole (room, user) {
      statements.remove.run(room, user)
    },
    async roleOf (room, user) {
      return statements.get.get(room, user)?.role
    },
    async roles (room) {
      return statements.all.all(room)
    },
    async rolesOf (user) {
      return statements.ofUser.all(user)
    }
  }
}
