import { EventEmitter } from 'node:events'
import { Webhook } from 'standardwebhooks'
import { Pool } from 'undici'
import type { EngineLog } from '../shared/log.ts'
import { ATTEMPT_TIMEOUT_MS, type QueuedEvent, type WebhookFeed, type WebhookStore } from '../engine/types.ts'
import type { ChatStats } from '../shared/chat-stats.ts'
import { retryDelay } from './backoff.ts'

/** Requests in flight at once per URL: that many rooms advance in parallel. */
const PARALLEL = 16

export interface DeliveryOptions {
  url: string
  secret: string
  maxAttempts: number
  log: EngineLog
  stats: ChatStats
}

/** What an attempt got: undefined for a 2xx, else why it failed. */
type Outcome = string | undefined

/** Lanes: one per room with an event under way for this URL. `woken`: more may have come meanwhile. */
interface Lane { woken: boolean }

/**
 * Delivers one URL's events: each room's in order, one at a time (the next only once the
 * previous was answered 2xx or parked), up to PARALLEL rooms at once. A failed attempt (non-2xx,
 * connection error, no answer within 5 s) is retried after retryDelay(); after `maxAttempts` the
 * event is parked and the room goes on. Nothing here is awaited by chat: the hub and the stores
 * only record events, and this worker reads them from the engine's outbox on its own time.
 */
export class UrlDelivery {
  private readonly feed: WebhookFeed
  private readonly signer: Webhook
  /**
   * undici's request API on a keep-alive pool, not `fetch`: fetch builds web streams, an
   * AbortSignal and a Request per call, which measured ~500 µs of CPU and a heap of garbage per
   * event on the chat's event loop; the pool's request costs a fraction of that (BENCHMARKS.md).
   */
  private readonly pool: Pool
  private readonly path: string
  private readonly lanes = new Map<string, Lane>()
  private readonly slotWaiters: (() => void)[] = []
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout, resolve: () => void }>()
  private readonly running = new Set<Promise<void>>()
  private sending = 0
  private closed = false

  constructor (store: WebhookStore, private readonly options: DeliveryOptions) {
    this.signer = new Webhook(options.secret)
    const url = new URL(options.url)
    this.path = url.pathname + url.search
    this.pool = new Pool(url.origin, {
      connections: PARALLEL,
      connect: { timeout: ATTEMPT_TIMEOUT_MS },
      headersTimeout: ATTEMPT_TIMEOUT_MS,
      bodyTimeout: ATTEMPT_TIMEOUT_MS
    })
    this.feed = store.feed(options.url, (room) => this.wake(room))
  }

  /** The room may have an event for this URL. */
  wake (room: string): void {
    if (this.closed) return
    const lane = this.lanes.get(room)
    if (lane !== undefined) {
      lane.woken = true
      return
    }
    const created: Lane = { woken: false }
    this.lanes.set(room, created)
    const run = this.run(room, created)
      .catch((err: unknown) => this.options.log.error({ err, room, url: this.options.url }, 'webhook delivery failed'))
      .finally(() => {
        this.running.delete(run)
        if (this.lanes.get(room) === created) this.lanes.delete(room)
      })
    this.running.add(run)
  }

  /**
   * Stops: waits for the requests in flight (at most the attempt timeout), so an event a
   * receiver has taken is recorded as delivered rather than sent again after a restart.
   */
  async close (): Promise<void> {
    this.closed = true
    for (const sleeper of this.sleepers) {
      clearTimeout(sleeper.timer)
      sleeper.resolve()
    }
    this.sleepers.clear()
    for (const waiter of this.slotWaiters.splice(0)) waiter()
    await Promise.allSettled([...this.running])
    await this.feed.close()
    await this.pool.close()
  }

  private async run (room: string, lane: Lane): Promise<void> {
    while (!this.closed) {
      lane.woken = false
      const event = await this.feed.next(room)
      if (event === undefined) {
        if (lane.woken) continue
        return
      }
      await this.deliver(event)
    }
  }

  private async deliver (event: QueuedEvent): Promise<void> {
    let attempts = event.attempts
    const { log, stats, url, maxAttempts } = this.options
    while (!this.closed) {
      await this.slot()
      let body: string | undefined
      let outcome: Outcome
      try {
        if (this.closed) return
        body = await this.feed.body(event)
        // Gone: no longer this node's to send (a lease moved) or already finished.
        if (body === undefined) return
        outcome = await this.post(body)
      } catch (err) {
        // The outbox could not be read (storage unreachable): the event stays where it is and the
        // room waits, as after a failed attempt, rather than losing its worker.
        log.warn({ err, url, room: event.room }, 'reading a webhook event failed; trying again')
      } finally {
        this.release()
      }
      if (body === undefined) {
        await this.sleep(retryDelay(attempts + 1))
        continue
      }
      if (outcome === undefined) {
        this.feed.delivered(event)
        stats.webhookAttempt('delivered')
        const time = Date.parse(timeOf(body))
        if (Number.isFinite(time)) stats.webhookLatency.observe(Math.max(0, Date.now() - time) / 1000)
        return
      }
      attempts++
      if (attempts >= maxAttempts) {
        if (!await this.untilStored(attempts, () => this.feed.parked(event, attempts, outcome))) return
        stats.webhookAttempt('parked')
        log.warn({ url, room: event.room, event: idOf(body), attempts, lastError: outcome }, 'webhook event parked after its last attempt')
        return
      }
      await this.feed.failed(event, attempts, outcome)
      stats.webhookAttempt('failed')
      await this.sleep(retryDelay(attempts))
    }
  }

  /**
   * Runs a write to the outbox until it succeeds (storage may be briefly unreachable), waiting
   * as after failed attempts in between; false if the delivery closed first.
   */
  private async untilStored (attempts: number, write: () => Promise<void>): Promise<boolean> {
    for (let failures = attempts; !this.closed; failures++) {
      try {
        await write()
        return true
      } catch (err) {
        this.options.log.warn({ err, url: this.options.url }, 'recording a webhook outcome failed; trying again')
        await this.sleep(retryDelay(failures))
      }
    }
    return false
  }

  /**
   * One signed POST; resolves undefined on a 2xx, else what went wrong. Never throws. The whole
   * attempt (connecting, the answer, its body) is bounded by ATTEMPT_TIMEOUT_MS through undici's
   * EventEmitter signal, which costs an emitter and a timer, not an AbortController per call.
   */
  private async post (body: string): Promise<Outcome> {
    const id = idOf(body)
    const now = new Date()
    const signal = new EventEmitter()
    const timer = setTimeout(() => signal.emit('abort'), ATTEMPT_TIMEOUT_MS)
    try {
      const response = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'fastify-chat-webhooks',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': this.signer.sign(id, now, body)
        },
        body,
        signal
      })
      // The answer's body is not needed; reading it to the end frees the connection. The status
      // is the answer: a body cut short after a 2xx does not make the attempt a failure.
      await response.body.dump().catch(() => {})
      return response.statusCode >= 200 && response.statusCode < 300 ? undefined : `HTTP ${response.statusCode}`
    } catch (err) {
      const code = (err as { code?: string }).code
      if (code !== undefined && TIMEOUTS.has(code)) return `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s`
      const cause = (err as { cause?: { code?: string, message?: string } }).cause
      return `connection failed: ${cause?.message ?? cause?.code ?? (err as Error).message}`
    } finally {
      clearTimeout(timer)
    }
  }

  private slot (): Promise<void> {
    if (this.sending < PARALLEL || this.closed) {
      this.sending++
      return Promise.resolve()
    }
    return new Promise((resolve) => this.slotWaiters.push(() => {
      this.sending++
      resolve()
    }))
  }

  private release (): void {
    this.sending--
    this.slotWaiters.shift()?.()
  }

  private sleep (ms: number): Promise<void> {
    if (this.closed) return Promise.resolve()
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.sleepers.delete(sleeper)
          resolve()
        }, ms),
        resolve
      }
      sleeper.timer.unref()
      this.sleepers.add(sleeper)
    })
  }
}

/** undici's error codes for an attempt that ran out of time (aborted: the whole-attempt timer). */
const TIMEOUTS = new Set(['UND_ERR_ABORTED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/** The id and time of a stored body: its first fields, as every engine writes them (id, type, time, …). */
const idOf = (body: string) => /^\{"id":"([^"]+)"/.exec(body)?.[1] ?? ''
const timeOf = (body: string) => /"time":"([^"]+)"/.exec(body.slice(0, 300))?.[1] ?? ''
