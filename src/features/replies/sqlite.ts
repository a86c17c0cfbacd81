import type { LocalStorage } from '../../engine/local/storage.ts'
import { Refused } from '../../engine/extension.ts'
import { MESSAGE_COLUMNS, messageQuery } from '../../engine/local/message-rows.ts'
import type { EditedMessage } from '../message-edits/schemas.ts'
import type { ReplyMessage } from './schemas.ts'
import type { RepliesStore } from './store.ts'

/** Each reply under its root; gone with the room, and with the root when history is trimmed. */
const MIGRATIONS = [
  `
  CREATE TABLE replies (
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    root INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (room, root, seq)
  ) WITHOUT ROWID;
  `
]

type Message = ReplyMessage & EditedMessage

/** Replies on SQLite: the index and the root's thread written in the append's (or the delete's) transaction. */
export function sqliteReplies (storage: LocalStorage): RepliesStore {
  const { db, messages } = storage
  storage.migrate('replies', MIGRATIONS)
  const columns = MESSAGE_COLUMNS.split(', ').map((column) => `m.${column}`).join(', ')
  const statements = {
    add: db.prepare<[string, number, number]>('INSERT OR IGNORE INTO replies (room, root, seq) VALUES (?, ?, ?)'),
    trim: db.prepare<[string, number]>('DELETE FROM replies WHERE room = ? AND root < ?'),
    undeleted: db.prepare<[string, number], { replies: number, lastSeq: number | null }>(`SELECT COUNT(*) AS replies, MAX(r.seq) AS lastSeq
      FROM replies r JOIN messages m ON m.room = r.room AND m.seq = r.seq
      WHERE r.room = ? AND r.root = ? AND json_extract(m.fields, '$.deleted') IS NULL`),
    newest: messageQuery<[string, number, number, number]>(db, `SELECT ${columns} FROM replies r
      JOIN messages m ON m.room = r.room AND m.seq = r.seq
      WHERE r.room = ? AND r.root = ? AND r.seq < ? ORDER BY r.seq DESC LIMIT ?`)
  }
  const notFound = (room: string, seq: number) => new Refused('not_found', `message ${seq} of room ${room} is not retained or was deleted`)

  /** Writes the root's thread as it stands now. */
  function recount (room: string, root: number): void {
    const before = messages.get(room, root) as Message | undefined
    if (before === undefined) return
    const { replies, lastSeq } = statements.undeleted.get(room, root)!
    const after: Message = { ...before }
    const last = lastSeq === null ? undefined : messages.get(room, lastSeq)
    if (replies === 0 || last === undefined) delete after.thread
    else after.thread = { replies, lastSeq: last.seq, lastTime: last.time }
    messages.save(before, after)
  }

  storage.onAppend('replies', {
    fields: ['replyTo'],
    check ({ room, fields }) {
      const root = fields.replyTo as number
      const message = messages.get(room, root) as Message | undefined
      if (message === undefined || message.deleted === true) throw notFound(room, root)
    },
    stored (stored) {
      const reply = stored as Message
      const root = reply.replyTo!
      statements.add.run(reply.room, root, reply.seq)
      const before = messages.get(reply.room, root) as Message
      const replies = (before.thread?.replies ?? 0) + 1
      const after: Message = { ...before, thread: { replies, lastSeq: reply.seq, lastTime: reply.time } }
      messages.save(before, after)
      return root
    }
  })
  storage.onChange((old, changed) => {
    const before = old as Message
    const after = changed as Message
    if (after.replyTo !== undefined && after.deleted === true && before.deleted !== true) recount(after.room, after.replyTo)
  })
  storage.onTrim((room, keepFrom) => { statements.trim.run(room, keepFrom) })

  return {
    async thread (room, root, limit, before = Number.MAX_SAFE_INTEGER) {
      return statements.newest.all(room, root, before, limit).reverse()
    }
  }
}
