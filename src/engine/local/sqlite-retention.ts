import type { Database } from 'better-sqlite3'

const DAY_MS = 86_400_000
/** Messages looked at per room and pass, a pass at most this many times a tick: a backlog is worked off steadily. */
const CHUNK = 1000
const CHUNKS_PER_TICK = 20

export interface RetentionOptions {
  db: Database
  /** CHAT_RETENTION_DAYS; undefined: only rooms with a period of their own lose messages. */
  defaultDays?: number
  /** Removes the room's messages up to `seq`, as a trim does (features' data with them). */
  expire: (room: string, seq: number) => void
}

/**
 * Retention on SQLite: a timer removes each room's messages older than its period (its own
 * `retention_days`, or CHAT_RETENTION_DAYS). A message's time grows with its seq, so a room's
 * expired messages are its oldest: each pass reads a room's oldest messages up to the first one
 * still young, by the primary key, with no index on time (which would cost every message a
 * write). It runs at least every 2 s, and every 0.5 % of the shortest period at most, so a
 * message is removed within 5 s or 1 % of its period, whichever is longer.
 */
export function startRetention (options: RetentionOptions): { changed: () => void, stop: () => void } {
  const { db } = options
  const rooms = db.prepare<[], { room: string, days: number | null }>(options.defaultDays === undefined
    ? 'SELECT id AS room, retention_days AS days FROM rooms WHERE retention_days IS NOT NULL'
    : 'SELECT id AS room, retention_days AS days FROM rooms')
  const expiredUpTo = db.prepare<[string, string, string], { seq: number | null, all: number }>(`SELECT MAX(CASE WHEN time < ? THEN seq END) AS seq,
    MIN(CASE WHEN time >= ? THEN 0 ELSE 1 END) AS "all" FROM (SELECT seq, time FROM messages WHERE room = ? ORDER BY seq LIMIT ${CHUNK})`)
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  const pass = (): number => {
    const now = Date.now()
    let shortest = Infinity
    for (const { room, days: own } of rooms.all()) {
      const days = own ?? options.defaultDays
      if (days === undefined) continue
      shortest = Math.min(shortest, days * DAY_MS)
      const cutoff = new Date(now - days * DAY_MS).toISOString()
      for (let chunk = 0; chunk < CHUNKS_PER_TICK; chunk++) {
        const found = expiredUpTo.get(cutoff, cutoff, room)
        if (found?.seq === null || found?.seq === undefined) break
        options.expire(room, found.seq)
        // Some of the chunk is young: the rest of the room is too.
        if (found.all === 0) break
      }
    }
    return shortest
  }
  const tick = () => {
    timer = undefined
    if (stopped || !db.open) return
    const shortest = pass()
    // No period anywhere: nothing to do until one is set (changed()).
    if (shortest !== Infinity) timer = setTimeout(tick, Math.min(3_600_000, Math.max(2000, shortest * 0.005))).unref()
  }
  timer = setTimeout(tick, 0).unref()
  return {
    /** A room's period was set or changed: the next pass comes at once, and its pace follows. */
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
