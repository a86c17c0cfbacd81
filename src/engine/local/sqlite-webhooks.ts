import type { Database } from 'better-sqlite3'
import type { QueuedEvent, WebhookFeed, WebhookStore } from '../types.ts'
import type { FailedEvent } from '../../schemas/webhooks.ts'
import type { SqliteOutbox } from './sqlite-outbox.ts'

/** Rows read per look for rooms with events at start-up; only their rooms are kept, never the rows. */
const SCAN_BATCH = 500
/** Deliveries are recorded together after this long, so a busy URL costs a commit per window, not per event. */
const FLUSH_MS = 50

interface NextRow { seq: number, targets: string | null, attempts: number | null }
interface FailedRow { id: string, type: FailedEvent['type'], room: string, url: string, attempts: number, lastError: string }

/**
 * The delivery side of the SQLite outbox. Each URL has, per room, the seq of the last event it
 * finished (answered 2xx or parked) in `webhook_progress`, and starts after `since`, the outbox's
 * seq when the URL was first configured. A feed finds rooms with events by scanning the rows once
 * at start (keeping only room ids), then is told the rooms of every row this process (the
 * database's only writer) adds, and reads each room's next event by index, one at a time, so no
 * backlog is ever held in memory and a stuck room holds back no other. Rows every configured
 * URL has finished are deleted, and a room's progress with its last row.
 */
export function createSqliteWebhooks (db: Database, outbox: SqliteOutbox): WebhookStore & { close: () => void } {
  const statements = {
    addUrl: db.prepare<[string]>(`INSERT INTO webhook_urls (url, since)
      VALUES (?, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'webhook_outbox'), 0)) ON CONFLICT DO NOTHING`),
    since: db.prepare<[string], { since: number }>('SELECT since FROM webhook_urls WHERE url = ?'),
    progress: db.prepare<[string, string], { seq: number }>('SELECT seq FROM webhook_progress WHERE url = ? AND room = ?'),
    next: db.prepare<[string, string, number], NextRow>(`SELECT o.seq, o.targets, a.attempts FROM webhook_outbox o
      LEFT JOIN webhook_attempts a ON a.url = ? AND a.seq = o.seq WHERE o.room = ? AND o.seq > ? ORDER BY o.seq LIMIT 1`),
    body: db.prepare<[number], { room: string, body: string }>('SELECT room, body FROM webhook_outbox WHERE seq = ?'),
    scan: db.prepare<[number, number], { seq: number, room: string }>('SELECT seq, room FROM webhook_outbox WHERE seq > ? ORDER BY seq LIMIT ?'),
    saveProgress: db.prepare<[string, string, number]>(`INSERT INTO webhook_progress (url, room, seq) VALUES (?, ?, ?)
      ON CONFLICT (url, room) DO UPDATE SET seq = MAX(seq, excluded.seq)`),
    setAttempts: db.prepare<[string, number, number, string]>(`INSERT INTO webhook_attempts (url, seq, attempts, last_error) VALUES (?, ?, ?, ?)
      ON CONFLICT (url, seq) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error`),
    clearAttempts: db.prepare<[string, number]>('DELETE FROM webhook_attempts WHERE url = ? AND seq = ?'),
    floor: db.prepare<[string], { floor: number | null }>(`SELECT MIN(COALESCE(p.seq, u.since)) AS floor FROM webhook_urls u
      LEFT JOIN webhook_progress p ON p.url = u.url AND p.room = ?`),
    trim: db.prepare<[string, number]>('DELETE FROM webhook_outbox WHERE room = ? AND seq <= ?'),
    anyLeft: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM webhook_outbox WHERE room = ? LIMIT 1'),
    dropProgress: db.prepare<[string]>('DELETE FROM webhook_progress WHERE room = ?'),
    rooms: db.prepare<[], { room: string }>('SELECT DISTINCT room FROM webhook_outbox'),
    park: db.prepare<[string, string, string, string, number, string, string]>(`INSERT INTO webhook_failed
      (event_id, type, room, url, attempts, last_error, body) VALUES (?, ?, ?, ?, ?, ?, ?)`),
    failed: db.prepare<[number], FailedRow>(`SELECT event_id AS id, type, room, url, attempts, last_error AS lastError
      FROM webhook_failed ORDER BY id LIMIT ?`),
    failedOf: db.prepare<[string], { room: string, url: string, body: string }>('SELECT room, url, body FROM webhook_failed WHERE event_id = ? ORDER BY id'),
    forgetFailed: db.prepare<[string]>('DELETE FROM webhook_failed WHERE event_id = ?'),
    requeue: db.prepare<[string, string, string]>('INSERT INTO webhook_outbox (room, body, targets) VALUES (?, ?, ?)')
  }
  let closed = false

  /** Deletes the room's rows every configured URL has finished; its progress goes with its last row. */
  function trimRoom (room: string): void {
    const floor = statements.floor.get(room)?.floor
    if (floor === null || floor === undefined) return
    outbox.pending -= statements.trim.run(room, floor).changes
    if (statements.anyLeft.get(room) === undefined) statements.dropProgress.run(room)
  }

  const forget = db.transaction((urls: string[]) => {
    const list = JSON.stringify(urls)
    for (const table of ['webhook_urls', 'webhook_progress', 'webhook_attempts']) {
      db.prepare(`DELETE FROM ${table} WHERE url NOT IN (SELECT value FROM json_each(?))`).run(list)
    }
    for (const url of urls) statements.addUrl.run(url)
    for (const { room } of statements.rooms.all()) trimRoom(room)
  })

  /** Lists the event as failed for the URL and moves the URL's progress past it, together. */
  const park = db.transaction((url: string, seq: number, attempts: number, error: string) => {
    const row = statements.body.get(seq)
    if (row === undefined) return
    const { id, type } = JSON.parse(row.body) as { id: string, type: string }
    statements.park.run(id, type, row.room, url, attempts, error, row.body)
    statements.saveProgress.run(url, row.room, seq)
    statements.clearAttempts.run(url, seq)
  })

  function feed (url: string, wake: (room: string) => void): WebhookFeed {
    statements.addUrl.run(url)
    const since = statements.since.get(url)!.since
    /** Finished seqs not yet written, by room. */
    const finished = new Map<string, number>()
    const attempted = new Set<number>()
    let scanned = 0
    let flushTimer: NodeJS.Timeout | undefined
    let stopped = false

    const cursor = (room: string) => finished.get(room) ?? statements.progress.get(url, room)?.seq ?? since

    const flush = db.transaction(() => {
      for (const [room, seq] of finished) statements.saveProgress.run(url, room, seq)
      for (const seq of attempted) statements.clearAttempts.run(url, seq)
      for (const room of finished.keys()) trimRoom(room)
    })
    function flushNow (): void {
      clearTimeout(flushTimer)
      flushTimer = undefined
      if (closed || (finished.size === 0 && attempted.size === 0)) return
      flush()
      finished.clear()
      attempted.clear()
    }
    function finish (event: QueuedEvent): void {
      const seq = Number(event.ref)
      finished.set(event.room, Math.max(seq, finished.get(event.room) ?? 0))
      if (event.attempts > 0) attempted.add(seq)
      flushTimer ??= setTimeout(flushNow, FLUSH_MS)
    }

    /** Wakes every room with rows past what this feed has looked at: at start, for what earlier runs left. */
    function scan (): void {
      if (stopped || closed) return
      for (;;) {
        const rows = statements.scan.all(scanned, SCAN_BATCH)
        const rooms = new Set<string>()
        for (const row of rows) {
          rooms.add(row.room)
          scanned = row.seq
        }
        for (const room of rooms) wake(room)
        if (rows.length < SCAN_BATCH) return
      }
    }
    outbox.onChange((rooms) => {
      if (stopped || closed) return
      for (const room of rooms) wake(room)
    })
    setImmediate(scan)

    return {
      async next (room) {
        if (stopped || closed) return undefined
        let after = cursor(room)
        for (;;) {
          const row = statements.next.get(url, room, after)
          if (row === undefined) return undefined
          // A retried event is for the URLs it was parked for; the others pass over it.
          if (row.targets === null || (JSON.parse(row.targets) as string[]).includes(url)) {
            return { room, ref: String(row.seq), attempts: row.attempts ?? 0 }
          }
          finish({ room, ref: String(row.seq), attempts: 0 })
          after = row.seq
        }
      },
      async body (event) {
        if (stopped || closed) return undefined
        return statements.body.get(Number(event.ref))?.body
      },
      delivered: finish,
      async failed (event, attempts, error) {
        if (!closed) statements.setAttempts.run(url, Number(event.ref), attempts, error)
      },
      async parked (event, attempts, error) {
        if (closed) return
        const seq = Number(event.ref)
        park(url, seq, attempts, error)
        finished.set(event.room, Math.max(seq, finished.get(event.room) ?? 0))
        flushTimer ??= setTimeout(flushNow, FLUSH_MS)
      },
      async close () {
        stopped = true
        flushNow()
      }
    }
  }

  return {
    feed,
    async forgetOthers (urls) {
      forget(urls)
    },
    async failed (limit) {
      return statements.failed.all(limit)
    },
    async retry (id) {
      const rows = statements.failedOf.all(id)
      if (rows.length === 0) return false
      db.transaction(() => {
        statements.forgetFailed.run(id)
        statements.requeue.run(rows[0]!.room, rows[0]!.body, JSON.stringify(rows.map((row) => row.url)))
      })()
      outbox.pending++
      outbox.changed(rows[0]!.room)
      return true
    },
    async pending () {
      return outbox.pending
    },
    close () {
      closed = true
    }
  }
}
