import type { Sql } from './storage.ts'

const DAY_MS = 86_400_000
/** Messages looked at per room and pass, a pass at most this many times a tick: a backlog is worked off steadily. */
const CHUNK = 1000
const CHUNKS_PER_TICK = 20

export interface PgRetentionOptions {
  sql: Sql
  /** CHAT_RETENTION_DAYS; undefined: only rooms with a period of their own lose messages. */
  defaultDays?: number
  /** Removes the room's messages up to `seq`, as a trim does (features' data with them), under the room's lock. */
  expire: (room: string, seq: number) => Promise<void>
}

/**
 * Retention on PostgreSQL, as on SQLite (local/sqlite-retention.ts): a message's time grows with
 * its seq, so a room's expired messages are its oldest, read by the primary key with no index on
 * time. Every node runs the sweep; removing what another node removed already removes nothing.
 * It runs at least every 2 s, and every 0.5 % of the shortest period at most.
 */
export function startPgRetention (options: PgRetentionOptions): { changed: () => void, stop: () => void } {
  const { sql } = options
  const roomsQuery = options.defaultDays === undefined
    ? 'SELECT id AS room, retention_days AS days FROM rooms WHERE retention_days IS NOT NULL'
    : 'SELECT id AS room, retention_days AS days FROM rooms'
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  const pass = async (): Promise<number> => {
    const now = Date.now()
    let shortest = Infinity
    const { rows } = await sql.query<{ room: string, days: number | null }>(roomsQuery)
    for (const { room, days: own } of rows) {
      const days = own ?? options.defaultDays
      if (days === undefined) continue
      shortest = Math.min(shortest, days * DAY_MS)
      const cutoff = new Date(now - days * DAY_MS).toISOString()
      for (let chunk = 0; chunk < CHUNKS_PER_TICK; chunk++) {
        if (stopped) return shortest
        const found = (await sql.query<{ seq: number | null, young: boolean | null }>(`SELECT MAX(seq) FILTER (WHERE time < $1) AS seq,
          bool_or(time >= $1) AS young FROM (SELECT seq, time FROM messages WHERE room = $2 ORDER BY seq LIMIT ${CHUNK}) oldest`, [cutoff, room])).rows[0]
        if (found?.seq === null || found?.seq === undefined) break
        await options.expire(room, found.seq)
        // Some of the chunk is young: the rest of the room is too.
        if (found.young === true) break
      }
    }
    return shortest
  }
  const tick = () => {
    timer = undefined
    if (stopped) return
    pass().then((shortest) => {
      if (stopped) return
      // No period anywhere: nothing to do until one is set (changed()).
      if (shortest !== Infinity) timer = setTimeout(tick, Math.min(3_600_000, Math.max(2000, shortest * 0.005))).unref()
    }, () => {
      // The database is away: try again shortly.
      if (!stopped) timer = setTimeout(tick, 2000).unref()
    })
  }
  timer = setTimeout(tick, 0).unref()
  return {
    changed () {
      if (stopped) return
      clearTimeout(timer)
      timer = setTimeout(tick, 0).unref()
    },
    stop () {
      stopped = true
      clearTimeout(timer)
    }
  }
}
