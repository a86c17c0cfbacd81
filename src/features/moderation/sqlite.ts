import type { LocalStorage } from '../../engine/local/storage.ts'
import type { SanctionKind } from './schemas.ts'
import type { SanctionRecord, SanctionsStore } from './store.ts'

const MIGRATIONS = [
  `
  CREATE TABLE room_sanctions (
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user TEXT NOT NULL,
    kind TEXT NOT NULL,
    until INTEGER,
    reason TEXT,
    PRIMARY KEY (room, user, kind)
  );
  `
]

/** Bans and mutes on SQLite: one row per (room, user, kind), deleted with the room. */
export function sqliteSanctions (storage: LocalStorage): SanctionsStore {
  const { db, messages } = storage
  storage.migrate('moderation', MIGRATIONS)
  const statements = {
    set: db.prepare<[string, string, string, number | null, string | null]>(`INSERT INTO room_sanctions (room, user, kind, until, reason) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (room, user, kind) DO UPDATE SET until = excluded.until, reason = excluded.reason`),
    remove: db.prepare<[string, string, string]>('DELETE FROM room_sanctions WHERE room = ? AND user = ? AND kind = ?'),
    ofRoom: db.prepare<[string], SanctionRecord>('SELECT user, kind, until, reason FROM room_sanctions WHERE room = ? ORDER BY kind, user')
  }
  const set = db.transaction((room: string, record: SanctionRecord) => {
    if (messages.latestSeq(room) === undefined) return false
    statements.set.run(room, record.user, record.kind, record.until, record.reason)
    return true
  })
  const kicked = db.transaction((room: string, user: string, reason: string) => {
    if (messages.latestSeq(room) !== undefined) storage.record('member.kicked', room, new Date().toISOString(), { user, reason })
  })
  return {
    async kicked (room, user, reason) {
      kicked(room, user, reason)
    },
    async set (room, record) {
      return set(room, record)
    },
    async remove (room, user, kind: SanctionKind) {
      statements.remove.run(room, user, kind)
    },
    async ofRoom (room) {
      return statements.ofRoom.all(room)
    }
  }
}
