import type { PostgresStorage, Sql } from '../../engine/postgres/storage.ts'
import type { Change } from '../../hub/message-updates.ts'
import type { EditedMessage } from '../message-edits/schemas.ts'
import type { ReactedMessage, Reaction } from './schemas.ts'
import { type ReactionsStore, summarize } from './store.ts'

/**
 * One row per reaction; `id` is the order they were made in (several in one millisecond keep
 * theirs, as SQLite's rowid). Gone with the room; rows of messages no longer retained go when
 * history is trimmed.
 */
const MIGRATIONS = [
  `
  CREATE TABLE reactions (
    room text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    emoji text NOT NULL,
    user_id text NOT NULL,
    time text NOT NULL,
    id bigserial NOT NULL,
    PRIMARY KEY (room, seq, emoji, user_id)
  );
  `
]

/** A message's reactions, oldest first. */
const OF = 'SELECT emoji, user_id AS "user", time FROM reactions WHERE room = $1 AND seq = $2 ORDER BY id'

/** Reactions on PostgreSQL: a change and the message's new `reactions` are one transaction, under the room's lock. */
export function postgresReactions (storage: PostgresStorage): ReactionsStore {
  const { messages } = storage
  storage.migrate('reactions', MIGRATIONS)
  const of = async (sql: Sql, room: string, seq: number) => (await sql.query<Reaction>(OF, [room, seq])).rows
  storage.onTrim(async (tx, room, keepFrom) => {
    await tx.query('DELETE FROM reactions WHERE room = $1 AND seq < $2', [room, keepFrom])
  })

  const react = (room: string, seq: number, user: string, emoji: string, active: boolean) =>
    storage.inRoom(room, async (tx): Promise<Change<ReactedMessage>> => {
      const before = await messages.get(tx, room, seq) as (ReactedMessage & EditedMessage) | undefined
      if (before === undefined || before.deleted === true) return { outcome: 'not_found' }
      const time = new Date().toISOString()
      const { rowCount } = active
        ? await tx.query('INSERT INTO reactions (room, seq, emoji, user_id, time) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
          [room, seq, emoji, user, time])
        : await tx.query('DELETE FROM reactions WHERE room = $1 AND seq = $2 AND emoji = $3 AND user_id = $4', [room, seq, emoji, user])
      if (rowCount === 0) return { outcome: 'unchanged', message: before }
      const after: ReactedMessage = { ...before }
      const reactions = summarize(await of(tx, room, seq))
      if (reactions === undefined) delete after.reactions
      else after.reactions = reactions
      await messages.save(tx, before, after)
      await storage.record(tx, active ? 'reaction.added' : 'reaction.removed', room, time, { seq, emoji, user })
      return { outcome: 'changed', message: after }
    })

  return {
    async react (room, seq, user, emoji, active, publish) {
      const result = await react(room, seq, user, emoji, active)
      // Published once committed, as the Redis script publishes in its step.
      if (result.outcome === 'changed' && publish) storage.publish({ kind: 'updated', message: result.message })
      return result
    },
    async list (room, seq) {
      if (await messages.get(storage.sql, room, seq) === undefined) return undefined
      return of(storage.sql, room, seq)
    }
  }
}
