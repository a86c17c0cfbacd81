import type { Database } from 'better-sqlite3'
import { RETENTION_CHUNK, scheduleRetention } from '../shared/retention.ts'

export interface RetentionOptions {
  db: Database
  /** CHAT_RETENTION_DAYS; undefined: only rooms with a period of their own lose messages. */
  defaultDays?: number
  /** Removes the room's messages up to `seq`, as a trim does (features' data with them). */
  expire: (room: string, seq: number) => void
}

/** Retention on SQLite (shared/retention.ts): each look one statement over a room's oldest messages. */
export function startRetention (options: RetentionOptions): { changed: () => void, stop: () => void } {
  const { db } = options
  const rooms = db.prepare<[], { room: string, days: number | null }>(options.defaultDays === undefined
    ? 'SELECT id AS room, retention_days AS days FROM rooms WHERE retention_days IS NOT NULL'
    : 'SELECT id AS room, retention_days AS days FROM rooms')
  const expiredUpTo = db.prepare<[string, string, string], { seq: number | null, all: number }>(`SELECT MAX(CASE WHEN time < ? THEN seq END) AS seq,
    MIN(CASE WHEN time >= ? THEN 0 ELSE 1 END) AS "all" FROM (SELECT seq, time FROM messages WHERE room = ? ORDER BY seq LIMIT ${RETENTION_CHUNK})`)
  return scheduleRetention({
    rooms: () => rooms.all(),
    oldest (room, cutoff) {
      const found = expiredUpTo.get(cutoff, cutoff, room)
      return found === undefined ? undefined : { seq: found.seq, young: found.all === 0 }
    },
    expire: options.expire,
    open: () => db.open
  }, options.defaultDays)
}
