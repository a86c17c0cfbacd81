import type { PostgresStorage, Sql } from '../../engine/postgres/storage.ts'
import type { MentionedMessage } from './schemas.ts'
import type { MentionsStore } from './store.ts'

/** The index of mentions: one row per (room, user, seq), counted per user from a seq on; gone with the room. */
const MIGRATIONS = [
  `
  CREATE TABLE mentions (
    room text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id text NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (room, user_id, seq)
  );
  `
]

/**
 * Every query's count in one round trip, in the order asked. Joined with the messages: only
 * retained ones count, whatever the index still holds.
 */
const COUNTS = `SELECT (SELECT COUNT(*)::integer FROM mentions m
    JOIN messages g ON g.room = m.room AND g.seq = m.seq
    WHERE m.room = q.room AND m.user_id = $1 AND m.seq > q.after) AS n
  FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS q(room, after, i)
  ORDER BY q.i`

/** Mentions on PostgreSQL: the index written in the transaction of the append or change that sets a message's mentions. */
export function postgresMentions (storage: PostgresStorage): MentionsStore {
  storage.migrate('mentions', MIGRATIONS)
  const add = async (tx: Sql, message: MentionedMessage) => {
    const users = message.mentions ?? []
    if (users.length === 0) return
    await tx.query(`INSERT INTO mentions (room, user_id, seq) SELECT $1::text, user_id, $3::bigint FROM unnest($2::text[]) AS u(user_id)
      ON CONFLICT DO NOTHING`, [message.room, users, message.seq])
  }

  storage.onAppend('mentions', { fields: ['mentions'], stored: async (tx, message) => { await add(tx, message) } })
  storage.onChange(async (tx, old, changed) => {
    const before = old as MentionedMessage
    const after = changed as MentionedMessage
    if (JSON.stringify(before.mentions) === JSON.stringify(after.mentions)) return
    if (before.mentions !== undefined && before.mentions.length > 0) {
      await tx.query('DELETE FROM mentions WHERE room = $1 AND user_id = ANY($2::text[]) AND seq = $3', [before.room, before.mentions, before.seq])
    }
    await add(tx, after)
  })
  storage.onTrim(async (tx, room, keepFrom) => {
    await tx.query('DELETE FROM mentions WHERE room = $1 AND seq < $2', [room, keepFrom])
  })

  return {
    async counts (user, queries) {
      if (queries.length === 0) return []
      const { rows } = await storage.sql.query<{ n: number }>(COUNTS,
        [user, queries.map((query) => query.room), queries.map((query) => query.after)])
      return rows.map((row) => row.n)
    }
  }
}
