import type { Pool } from 'pg'
import type { FailedEvent } from '../../schemas/webhooks.ts'
import type { QueuedEvent, WebhookFeed, WebhookStore } from '../types.ts'
import type { PostgresOutbox } from './outbox.ts'
import type { Sql } from './storage.ts'
import { inTransaction } from './transactions.ts'

/** Rows read per look for rooms with new events. */
const SCAN_BATCH = 500
/** Deliveries are recorded together after this long, so a busy URL costs a commit per window, not per event. */
const FLUSH_MS = 50
/** How often a feed looks for rows other nodes added, and how often for every room with rows (a row committed late). */
const POLL_MS = 1000
const SWEEP_MS = 10_000
/** A node delivers a room's events to a URL while it holds the lease; one that stops is replaced after this long. */
const LEASE_S = 15

interface NextRow { seq: number, targets: string[] | null, attempts: number | null }
interface FailedRow { id: string, type: FailedEvent['type'], room: string, url: string, attempts: number, lastError: string }

export interface PostgresWebhooksOptions {
  pool: Pool
  outbox: PostgresOutbox
  /** This node's name in the leases. */
  nodeId: string
}

/**
 * The delivery side of the outbox on PostgreSQL, shared by every node. As on SQLite, each URL
 * has per room the seq of the last event it finished, and starts after `since`; a room's events
 * go out in order, one at a time, read by index, and rows every URL finished are deleted.
 * Several nodes: a room's events for a URL are delivered by the node holding the (url, room)
 * lease, renewed with each event and taken over once it has lapsed, so each event goes out from
 * one node (a node that stops mid-attempt may leave one to be sent again: at least once).
 * A node hears at once of the rows it adds, and of other nodes' by polling.
 */
export function createPostgresWebhooks (options: PostgresWebhooksOptions): WebhookStore & { start: () => void, close: () => Promise<void> } {
  const { pool, outbox, nodeId } = options
  const sql = pool as unknown as Sql
  let closed = false
  const feeds = new Set<{ close: () => Promise<void> }>()

  /** Deletes the room's rows every configured URL has finished. */
  async function trimRoom (tx: Sql, room: string): Promise<void> {
    await tx.query(`DELETE FROM webhook_outbox WHERE room = $1 AND seq <= (SELECT MIN(COALESCE(p.seq, u.since)) FROM webhook_urls u
      LEFT JOIN webhook_progress p ON p.url = u.url AND p.room = $1)`, [room])
  }

  const addUrl = (url: string) => pool.query(`INSERT INTO webhook_urls (url, since)
    VALUES ($1, (SELECT COALESCE(MAX(seq), 0) FROM webhook_outbox)) ON CONFLICT DO NOTHING`, [url])

  function feed (url: string, wake: (room: string) => void): WebhookFeed {
    let since: number | undefined
    const starting = addUrl(url).then(async () => {
      since = (await pool.query<{ since: number }>('SELECT since FROM webhook_urls WHERE url = $1', [url])).rows[0]!.since
    })
    starting.catch(() => {})
    const finished = new Map<string, number>()
    const attempted = new Set<number>()
    let scanned = 0
    let flushTimer: NodeJS.Timeout | undefined
    let flushing: Promise<void> = Promise.resolve()
    let stopped = false

    /** Per room, the last seq this node finished, recorded or not yet: progress read back may lag behind it until the flush commits. */
    const known = new Map<string, number>()
    const cursor = async (room: string) => {
      await starting
      const stored = (await pool.query<{ seq: number }>('SELECT seq FROM webhook_progress WHERE url = $1 AND room = $2', [url, room])).rows[0]?.seq ?? since!
      return Math.max(stored, known.get(room) ?? 0)
    }
    /** Takes or renews the lease of (url, room); false while another node holds it. */
    const lease = async (room: string) => (await pool.query(`INSERT INTO webhook_leases (url, room, node, until)
      VALUES ($1, $2, $3, now() + make_interval(secs => ${LEASE_S}))
      ON CONFLICT (url, room) DO UPDATE SET node = excluded.node, until = excluded.until
      WHERE webhook_leases.node = excluded.node OR webhook_leases.until < now()`, [url, room, nodeId])).rowCount === 1

    function flushNow (): Promise<void> {
      clearTimeout(flushTimer)
      flushTimer = undefined
      if (closed || (finished.size === 0 && attempted.size === 0)) return flushing
      const rooms = new Map(finished)
      const seqs = [...attempted]
      finished.clear()
      attempted.clear()
      flushing = flushing.then(() => inTransaction(pool, async (tx) => {
        await tx.query(`INSERT INTO webhook_progress (url, room, seq) SELECT $1, room, seq FROM unnest($2::text[], $3::bigint[]) AS p(room, seq)
          ON CONFLICT (url, room) DO UPDATE SET seq = GREATEST(webhook_progress.seq, excluded.seq)`, [url, [...rooms.keys()], [...rooms.values()]])
        if (seqs.length > 0) await tx.query('DELETE FROM webhook_attempts WHERE url = $1 AND seq = ANY($2::bigint[])', [url, seqs])
        for (const room of rooms.keys()) await trimRoom(tx, room)
      })).then(() => {
        // Recorded: the database now says as much as this node knows.
        for (const [room, seq] of rooms) if (known.get(room) === seq) known.delete(room)
      }, () => {
        // Not recorded: the events are delivered again after a restart (at least once).
      })
      return flushing
    }
    function finish (event: QueuedEvent): void {
      const seq = Number(event.ref)
      finished.set(event.room, Math.max(seq, finished.get(event.room) ?? 0))
      known.set(event.room, Math.max(seq, known.get(event.room) ?? 0))
      if (event.attempts > 0) attempted.add(seq)
      flushTimer ??= setTimeout(() => { void flushNow() }, FLUSH_MS)
    }

    /** Wakes every room with rows past what this feed has looked at. */
    async function scan (): Promise<void> {
      for (;;) {
        if (stopped || closed) return
        const { rows } = await pool.query<{ seq: number, room: string }>('SELECT seq, room FROM webhook_outbox WHERE seq > $1 ORDER BY seq LIMIT $2', [scanned, SCAN_BATCH])
        const rooms = new Set<string>()
        for (const row of rows) {
          rooms.add(row.room)
          scanned = row.seq
        }
        for (const room of rooms) wake(room)
        if (rows.length < SCAN_BATCH) return
      }
    }
    async function sweep (): Promise<void> {
      if (stopped || closed) return
      const { rows } = await pool.query<{ room: string }>('SELECT DISTINCT room FROM webhook_outbox')
      for (const { room } of rows) wake(room)
    }
    outbox.onChange((rooms) => {
      if (stopped || closed) return
      for (const room of rooms) wake(room)
    })
    const poll = setInterval(() => { scan().catch(() => {}) }, POLL_MS).unref()
    const sweeper = setInterval(() => { sweep().catch(() => {}) }, SWEEP_MS).unref()
    setImmediate(() => { starting.then(scan).catch(() => {}) })

    const handle = {
      async close () {
        stopped = true
        clearInterval(poll)
        clearInterval(sweeper)
        await flushNow()
        await pool.query('DELETE FROM webhook_leases WHERE url = $1 AND node = $2', [url, nodeId]).catch(() => {})
      }
    }
    feeds.add(handle)

    return {
      async next (room) {
        if (stopped || closed) return undefined
        let after = await cursor(room)
        for (;;) {
          const row = (await pool.query<NextRow>(`SELECT o.seq, o.targets, a.attempts FROM webhook_outbox o
            LEFT JOIN webhook_attempts a ON a.url = $1 AND a.seq = o.seq WHERE o.room = $2 AND o.seq > $3 ORDER BY o.seq LIMIT 1`, [url, room, after])).rows[0]
          if (row === undefined) return undefined
          if (!await lease(room)) return undefined
          // A retried event is for the URLs it was parked for; the others pass over it.
          if (row.targets === null || row.targets.includes(url)) return { room, ref: String(row.seq), attempts: row.attempts ?? 0 }
          finish({ room, ref: String(row.seq), attempts: 0 })
          after = row.seq
        }
      },
      async body (event) {
        if (stopped || closed) return undefined
        return (await pool.query<{ body: string }>('SELECT body FROM webhook_outbox WHERE seq = $1', [Number(event.ref)])).rows[0]?.body
      },
      delivered: finish,
      async failed (event, attempts, error) {
        if (closed) return
        await pool.query(`INSERT INTO webhook_attempts (url, seq, attempts, last_error) VALUES ($1, $2, $3, $4)
          ON CONFLICT (url, seq) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error`, [url, Number(event.ref), attempts, error])
      },
      async parked (event, attempts, error) {
        if (closed) return
        const seq = Number(event.ref)
        await inTransaction(pool, async (tx) => {
          const row = (await tx.query<{ room: string, body: string }>('SELECT room, body FROM webhook_outbox WHERE seq = $1', [seq])).rows[0]
          if (row === undefined) return
          const { id, type } = JSON.parse(row.body) as { id: string, type: string }
          await tx.query('INSERT INTO webhook_failed (event_id, type, room, url, attempts, last_error, body) VALUES ($1, $2, $3, $4, $5, $6, $7)',
            [id, type, row.room, url, attempts, error, row.body])
          await tx.query(`INSERT INTO webhook_progress (url, room, seq) VALUES ($1, $2, $3)
            ON CONFLICT (url, room) DO UPDATE SET seq = GREATEST(webhook_progress.seq, excluded.seq)`, [url, row.room, seq])
          await tx.query('DELETE FROM webhook_attempts WHERE url = $1 AND seq = $2', [url, seq])
        })
        finished.set(event.room, Math.max(seq, finished.get(event.room) ?? 0))
        known.set(event.room, Math.max(seq, known.get(event.room) ?? 0))
        flushTimer ??= setTimeout(() => { void flushNow() }, FLUSH_MS)
      },
      close: handle.close
    }
  }

  return {
    feed,
    start () {},
    async forgetOthers (urls) {
      await inTransaction(pool, async (tx) => {
        for (const table of ['webhook_urls', 'webhook_progress', 'webhook_attempts', 'webhook_leases']) {
          await tx.query(`DELETE FROM ${table} WHERE NOT (url = ANY($1::text[]))`, [urls])
        }
        for (const url of urls) {
          await tx.query('INSERT INTO webhook_urls (url, since) VALUES ($1, (SELECT COALESCE(MAX(seq), 0) FROM webhook_outbox)) ON CONFLICT DO NOTHING', [url])
        }
        const { rows } = await tx.query<{ room: string }>('SELECT DISTINCT room FROM webhook_outbox')
        for (const { room } of rows) await trimRoom(tx, room)
      })
    },
    async failed (limit) {
      return (await sql.query<FailedRow>(`SELECT event_id AS id, type, room, url, attempts, last_error AS "lastError"
        FROM webhook_failed ORDER BY id LIMIT $1`, [limit])).rows
    },
    async retry (id) {
      return await inTransaction(pool, async (tx) => {
        const { rows } = await tx.query<{ room: string, url: string, body: string }>('SELECT room, url, body FROM webhook_failed WHERE event_id = $1 ORDER BY id', [id])
        if (rows.length === 0) return false
        await tx.query('DELETE FROM webhook_failed WHERE event_id = $1', [id])
        await outbox.recordBodies(tx, rows[0]!.room, [rows[0]!.body], rows.map((row) => row.url))
        return true
      })
    },
    async pending () {
      return (await sql.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM webhook_outbox')).rows[0]!.n
    },
    async close () {
      await Promise.all([...feeds].map((handle) => handle.close()))
      closed = true
    }
  }
}
