import { RETENTION_CHUNK, scheduleRetention } from '../shared/retention.ts'
import type { Sql } from './storage.ts'

export interface PgRetentionOptions {
  sql: Sql
  /** CHAT_RETENTION_DAYS; undefined: only rooms with a period of their own lose messages. */
  defaultDays?: number
  /** Removes the room's messages up to `seq`, as a trim does (features' data with them), under the room's lock. */
  expire: (room: string, seq: number) => Promise<void>
}

/** Retention on PostgreSQL (shared/retention.ts), run by every node. */
export function startPgRetention (options: PgRetentionOptions): { changed: () => void, stop: () => void } {
  const { sql } = options
  const roomsQuery = options.defaultDays === undefined
    ? 'SELECT id AS room, retention_days AS days FROM rooms WHERE retention_days IS NOT NULL'
    : 'SELECT id AS room, retention_days AS days FROM rooms'
  return scheduleRetention({
    rooms: async () => (await sql.query<{ room: string, days: number | null }>(roomsQuery)).rows,
    async oldest (room, cutoff) {
      const found = (await sql.query<{ seq: number | null, young: boolean | null }>(`SELECT MAX(seq) FILTER (WHERE time < $1) AS seq,
        bool_or(time >= $1) AS young FROM (SELECT seq, time FROM messages WHERE room = $2 ORDER BY seq LIMIT ${RETENTION_CHUNK}) oldest`, [cutoff, room])).rows[0]
      return found === undefined ? undefined : { seq: found.seq, young: found.young === true }
    },
    expire: options.expire,
    open: () => true
  }, options.defaultDays)
}
