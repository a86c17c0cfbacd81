import type { FeedHistory } from '../redis/feed-history.ts'
import { MESSAGE_COLUMNS, type MessageRow, queryMessages, toMessage } from './message-rows.ts'
import type { Sql } from './storage.ts'

/** Messages a repair reads at once; a longer gap is read in several passes. */
const READ_AT_ONCE = 1000

/**
 * The rooms' history in PostgreSQL, as the Redis fan-out's room feeds read it to fill a gap:
 * the latest seq, the oldest retained and the messages after a seq come from one statement, so
 * from one snapshot.
 */
export function postgresFeedHistory (sql: Sql): FeedHistory {
  return {
    async position (room) {
      const row = (await sql.query<{ seq: number, created_at: string }>('SELECT last_seq AS seq, created_at FROM rooms WHERE id = $1', [room])).rows[0]
      return row === undefined ? undefined : { seq: row.seq, createdAt: row.created_at }
    },
    async after (room, since) {
      const row = (await sql.query<{ latest: number, oldest: number | null, rows: MessageRow[] }>(`SELECT r.last_seq AS latest,
        (SELECT MIN(seq) FROM messages WHERE room = $1) AS oldest,
        COALESCE((SELECT json_agg(m ORDER BY m.seq) FROM (SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = $1 AND seq > $2 ORDER BY seq LIMIT $3) m), '[]') AS rows
        FROM rooms r WHERE r.id = $1`, [room, since, READ_AT_ONCE])).rows[0]
      if (row === undefined) return { latest: -1, oldest: 0, messages: [] }
      const messages = row.rows.map((found) => {
        const message = toMessage(found)
        return { message, json: JSON.stringify(message) }
      })
      const last = messages[messages.length - 1]?.message.seq ?? row.latest
      return { latest: row.latest, oldest: row.oldest ?? 0, messages, more: messages.length === READ_AT_ONCE && last < row.latest }
    },
    changedSince: (room, since) =>
      queryMessages(sql, `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = $1 AND changed_seq >= $2 AND seq <= $2 ORDER BY seq`, [room, since])
  }
}
