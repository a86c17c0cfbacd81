import { Refused } from '../../engine/extension.ts'
import { messageColumnsOf, queryMessages } from '../../engine/postgres/message-rows.ts'
import type { PostgresStorage, Sql } from '../../engine/postgres/storage.ts'
import type { EditedMessage } from '../message-edits/schemas.ts'
import type { ReplyMessage } from './schemas.ts'
import type { RepliesStore } from './store.ts'

/** Each reply under its root; gone with the room, and with the root when history is trimmed. */
const MIGRATIONS = [
  `
  CREATE TABLE replies (
    room text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    root bigint NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (room, root, seq)
  );
  `
]

type Message = ReplyMessage & EditedMessage

/** The root's undeleted replies (joined with the messages: only retained ones count) and the newest of them. */
const UNDELETED = `SELECT COUNT(*)::integer AS replies, MAX(r.seq) AS "lastSeq"
  FROM replies r JOIN messages m ON m.room = r.room AND m.seq = r.seq
  WHERE r.room = $1 AND r.root = $2 AND m.fields->'deleted' IS NULL`

const NEWEST = `SELECT ${messageColumnsOf('m')} FROM replies r
  JOIN messages m ON m.room = r.room AND m.seq = r.seq
  WHERE r.room = $1 AND r.root = $2 AND r.seq < $3 ORDER BY r.seq DESC LIMIT $4`

/** Replies on PostgreSQL: the index and the root's thread written in the append's (or the delete's) transaction. */
export function postgresReplies (storage: PostgresStorage): RepliesStore {
  const { messages } = storage
  storage.migrate('replies', MIGRATIONS)
  const notFound = (room: string, seq: number) => new Refused('not_found', `message ${seq} of room ${room} is not retained or was deleted`)

  /** Writes the root's thread as it stands now. */
  async function recount (tx: Sql, room: string, root: number): Promise<void> {
    const before = await messages.get(tx, room, root) as Message | undefined
    if (before === undefined) return
    const { rows: [{ replies, lastSeq }] } = await tx.query<{ replies: number, lastSeq: number | null }>(UNDELETED, [room, root])
    const after: Message = { ...before }
    const last = lastSeq === null ? undefined : await messages.get(tx, room, lastSeq)
    if (replies === 0 || last === undefined) delete after.thread
    else after.thread = { replies, lastSeq: last.seq, lastTime: last.time }
    await messages.save(tx, before, after)
  }

  storage.onAppend('replies', {
    fields: ['replyTo'],
    async check (tx, { room, fields }) {
      const root = fields.replyTo as number
      const message = await messages.get(tx, room, root) as Message | undefined
      if (message === undefined || message.deleted === true) throw notFound(room, root)
    },
    async stored (tx, stored) {
      const reply = stored as Message
      const root = reply.replyTo!
      await tx.query('INSERT INTO replies (room, root, seq) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [reply.room, root, reply.seq])
      const before = await messages.get(tx, reply.room, root) as Message
      const replies = (before.thread?.replies ?? 0) + 1
      const after: Message = { ...before, thread: { replies, lastSeq: reply.seq, lastTime: reply.time } }
      await messages.save(tx, before, after)
      return root
    }
  })
  storage.onChange(async (tx, old, changed) => {
    const before = old as Message
    const after = changed as Message
    if (after.replyTo !== undefined && after.deleted === true && before.deleted !== true) await recount(tx, after.room, after.replyTo)
  })
  storage.onTrim(async (tx, room, keepFrom) => {
    await tx.query('DELETE FROM replies WHERE room = $1 AND root < $2', [room, keepFrom])
  })

  return {
    async thread (room, root, limit, before = Number.MAX_SAFE_INTEGER) {
      return (await queryMessages(storage.sql, NEWEST, [room, root, before, limit])).reverse()
    }
  }
}
