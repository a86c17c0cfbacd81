import type { LocalStorage } from '../../engine/local/storage.ts'
import type { Change } from '../../hub/message-updates.ts'
import type { EditedMessage } from '../message-edits/schemas.ts'
import type { ReactedMessage, Reaction } from './schemas.ts'
import { type ReactionsStore, summarize } from './store.ts'

/**
 * One row per reaction; the rowid is the order they were made in (several in one millisecond
 * keep theirs). Gone with the room; rows of messages no longer retained go when history is trimmed.
 */
const MIGRATIONS = [
  `
  CREATE TABLE reactions (
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    emoji TEXT NOT NULL,
    user TEXT NOT NULL,
    time TEXT NOT NULL,
    UNIQUE (room, seq, emoji, user)
  );
  `
]

/** Reactions on SQLite: a change and the message's new `reactions` are one transaction. */
export function sqliteReactions (storage: LocalStorage): ReactionsStore {
  const { db, messages } = storage
  storage.migrate('reactions', MIGRATIONS)
  const statements = {
    add: db.prepare<[string, number, string, string, string]>('INSERT OR IGNORE INTO reactions (room, seq, emoji, user, time) VALUES (?, ?, ?, ?, ?)'),
    remove: db.prepare<[string, number, string, string]>('DELETE FROM reactions WHERE room = ? AND seq = ? AND emoji = ? AND user = ?'),
    of: db.prepare<[string, number], Reaction>('SELECT emoji, user, time FROM reactions WHERE room = ? AND seq = ? ORDER BY rowid'),
    trim: db.prepare<[string, number]>('DELETE FROM reactions WHERE room = ? AND seq < ?')
  }
  storage.onTrim((room, keepFrom) => { statements.trim.run(room, keepFrom) })

  const react = db.transaction((room: string, seq: number, user: string, emoji: string, active: boolean): Change<ReactedMessage> => {
    const before = messages.get(room, seq) as (ReactedMessage & EditedMessage) | undefined
    if (before === undefined || before.deleted === true) return { outcome: 'not_found' }
    const time = new Date().toISOString()
    const changes = active ? statements.add.run(room, seq, emoji, user, time).changes : statements.remove.run(room, seq, emoji, user).changes
    if (changes === 0) return { outcome: 'unchanged', message: before }
    const after: ReactedMessage = { ...before }
    const reactions = summarize(statements.of.all(room, seq))
    if (reactions === undefined) delete after.reactions
    else after.reactions = reactions
    messages.save(before, after)
    storage.record(active ? 'reaction.added' : 'reaction.removed', room, time, { seq, emoji, user })
    return { outcome: 'changed', message: after }
  })

  return {
    async react (room, seq, user, emoji, active, publish) {
      const result = react(room, seq, user, emoji, active)
      if (result.outcome === 'changed' && publish) storage.publish({ kind: 'updated', message: result.message })
      return result
    },
    async list (room, seq) {
      if (messages.get(room, seq) === undefined) return undefined
      return statements.of.all(room, seq)
    }
  }
}
