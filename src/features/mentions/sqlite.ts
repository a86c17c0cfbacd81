import type { LocalStorage } from '../../engine/local/storage.ts'
import type { MentionedMessage } from './schemas.ts'
import type { MentionsStore } from './store.ts'

/** The index of mentions: one row per (room, user, seq), counted per user from a seq on; gone with the room. */
const MIGRATIONS = [
  `
  CREATE TABLE mentions (
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (room, user, seq)
  ) WITHOUT ROWID;
  `
]

/** Mentions on SQLite: the index written in the transaction of the append or change that sets a message's mentions. */
export function sqliteMentions (storage: LocalStorage): MentionsStore {
  const { db } = storage
  storage.migrate('mentions', MIGRATIONS)
  const statements = {
    add: db.prepare<[string, string, number]>('INSERT OR IGNORE INTO mentions (room, user, seq) VALUES (?, ?, ?)'),
    remove: db.prepare<[string, string, number]>('DELETE FROM mentions WHERE room = ? AND user = ? AND seq = ?'),
    trim: db.prepare<[string, number]>('DELETE FROM mentions WHERE room = ? AND seq < ?'),
    // Joined with the messages: only retained ones count, whatever the index still holds.
    count: db.prepare<[string, string, number], { n: number }>(`SELECT COUNT(*) AS n FROM mentions m
      JOIN messages g ON g.room = m.room AND g.seq = m.seq WHERE m.room = ? AND m.user = ? AND m.seq > ?`)
  }
  const add = (message: MentionedMessage) => {
    for (const user of message.mentions ?? []) statements.add.run(message.room, user, message.seq)
  }

  storage.onAppend('mentions', { fields: ['mentions'], stored: (message) => { add(message) } })
  storage.onChange((old, changed) => {
    const before = old as MentionedMessage
    const after = changed as MentionedMessage
    if (JSON.stringify(before.mentions) === JSON.stringify(after.mentions)) return
    for (const user of before.mentions ?? []) statements.remove.run(before.room, user, before.seq)
    add(after)
  })
  storage.onTrim((room, keepFrom) => { statements.trim.run(room, keepFrom) })

  return {
    async counts (user, queries) {
      return queries.map(({ room, after }) => statements.count.get(room, user, after)!.n)
    }
  }
}
