import type { LocalStorage } from '../../engine/local/storage.ts'
import type { DmStore } from './store.ts'

const MIGRATIONS = [
  `
  CREATE TABLE dm_users (
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user TEXT NOT NULL,
    PRIMARY KEY (room, user)
  ) WITHOUT ROWID;
  CREATE INDEX dm_users_by_user ON dm_users (user, room);
  `
]

/** Direct messages on SQLite: a row per (DM room, participant), deleted with the room. */
export function sqliteDms (storage: LocalStorage): DmStore {
  const { db } = storage
  storage.migrate('direct-messages', MIGRATIONS)
  const statements = {
    add: db.prepare<[string, string]>('INSERT INTO dm_users (room, user) VALUES (?, ?) ON CONFLICT DO NOTHING'),
    ofUser: db.prepare<[string], { room: string }>('SELECT room FROM dm_users WHERE user = ? ORDER BY room'),
    isDm: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM dm_users WHERE room = ? LIMIT 1')
  }
  const save = db.transaction((room: string, users: string[]) => { for (const user of users) statements.add.run(room, user) })
  return {
    async save (room, users) {
      save(room, users)
    },
    async roomsOf (user) {
      return statements.ofUser.all(user).map((row) => row.room)
    },
    async areDms (rooms) {
      return rooms.map((room) => statements.isDm.get(room) !== undefined)
    }
  }
}
