import { EventEmitter } from 'node:events'
import { Agent, request } from 'undici'
import webPush from 'web-push'
import type { EngineLog } from '../../shared/log.ts'
import { LONGEST_RETRY_MS, retryDelay } from '../../webhooks/backoff.ts'
import type { Delivery, PushStore } from './store.ts'
import { VapidHeaders, type VapidKeys } from './vapid.ts'

/** What became of a push attempt, as `chat_pushes_total{outcome}` counts it. */
export type PushOutcome = 'delivered' | 'retried' | 'gone' | 'rejected' | 'expired'

export interface SenderOptions {
  store: PushStore
  vapid: VapidKeys
  log: EngineLog
  outcome: (outcome: PushOutcome) => void
}

/** How long a push service keeps a push for an offline browser (the TTL header), and how long one is retried. */
export const PUSH_TTL_S = 24 * 3600
/** No answer within this long is a failed attempt. */
const ATTEMPT_TIMEOUT_MS = 5000
/**
 * Pushes in flight at once from this node. Each costs a few hundred µs of CPU (an ECDH key pair
 * and secret, the encryption): few at a time, each in a turn of its own, so chat's frames are
 * read between them and a burst of pushes (a window ending for a thousand users) delays no room.
 */
const PARALLEL = 16

/**
 * Sends Web Push deliveries (RFC 8030), encrypted for the subscription (RFC 8291, aes128gcm) by
 * web-push, over undici: web-push's own sender speaks only https, and a keep-alive agent
 * reuses connections to the few push services there are. 2xx: done; 404 and 410: the
 * subscription is gone; 429, 5xx, no answer: tried again after retryDelay() (at least what
 * Retry-After asks, at most 5 minutes) until the TTL has passed; any other answer: dropped.
 */
export class PushSender {
  private readonly agent = new Agent({ connect: { timeout: ATTEMPT_TIMEOUT_MS }, headersTimeout: ATTEMPT_TIMEOUT_MS, bodyTimeout: ATTEMPT_TIMEOUT_MS })
  private readonly headers: VapidHeaders
  private stopping = false

  constructor (private readonly options: SenderOptions) {
    this.headers = new VapidHeaders(options.vapid)
  }

  /**
   * Sends each delivery, PARALLEL at a time; resolves once each is recorded. Once stopping, the
   * ones not started are let go at once (due again now), for the next start or another node.
   */
  async sendAll (deliveries: Delivery[]): Promise<void> {
    let next = 0
    const finished: string[] = []
    const worker = async () => {
      while (next < deliveries.length) {
        const delivery = deliveries[next++]!
        await yieldTurn()
        if (this.stopping) await this.options.store.retryAt(delivery.id, delivery.attempts, Date.now()).catch(() => {})
        else if (await this.send(delivery)) finished.push(delivery.id)
      }
    }
    await Promise.all(Array.from({ length: Math.min(PARALLEL, deliveries.length) }, worker))
    // One write for the batch's finished deliveries: a crash before it sends them again (at least once).
    await this.options.store.finish(finished).catch((err: unknown) => this.options.log.warn({ err }, 'recording finished pushes failed'))
  }

  /** Starts no more pushes (those in flight finish). */
  stop (): void {
    this.stopping = true
  }

  async close (): Promise<void> {
    this.stop()
    await this.agent.close()
  }

  /** One attempt and what it leads to; true when the delivery is finished (to be taken off the queue). */
  private async send (delivery: Delivery): Promise<boolean> {
    const { store, log, outcome } = this.options
    const answer = await this.attempt(delivery)
    try {
      if (answer.status !== undefined && answer.status >= 200 && answer.status < 300) {
        outcome('delivered')
        return true
      }
      if (answer.status === 404 || answer.status === 410) {
        await store.dropSubscription(delivery.subscription.endpoint)
        outcome('gone')
        return true
      }
      if (answer.status !== undefined && answer.status !== 429 && answer.status < 500) {
        log.warn({ endpoint: origin(delivery), status: answer.status, user: delivery.user }, 'push refused by the push service; dropped')
        outcome('rejected')
        return true
      }
      const attempts = delivery.attempts + 1
      const wait = Math.min(LONGEST_RETRY_MS, Math.max(retryDelay(attempts), answer.retryAfterMs ?? 0))
      const at = Date.now() + wait
      if (at > delivery.createdAt + PUSH_TTL_S * 1000) {
        outcome('expired')
        return true
      }
      await store.retryAt(delivery.id, attempts, at)
      outcome('retried')
    } catch (err) {
      // Storage unreachable: the delivery's lease runs out and it is taken again.
      log.warn({ err, user: delivery.user }, 'recording a push outcome failed')
    }
    return false
  }

  /** One POST; never throws. `status` undefined: no answer (connection failed, timed out). */
  private async attempt (delivery: Delivery): Promise<{ status?: number, retryAfterMs?: number }> {
    const signal = new EventEmitter()
    const timer = setTimeout(() => signal.emit('abort'), ATTEMPT_TIMEOUT_MS)
    try {
      const details = webPush.generateRequestDetails(delivery.subscription, delivery.payload, {
        TTL: Math.max(0, PUSH_TTL_S - Math.floor((Date.now() - delivery.createdAt) / 1000)),
        contentEncoding: 'aes128gcm',
        urgency: 'high',
        headers: { Authorization: this.headers.for(delivery.subscription.endpoint) }
      })
      const response = await request(details.endpoint, {
        method: 'POST',
        headers: details.headers as Record<string, string>,
        body: details.body as Buffer,
        dispatcher: this.agent,
        signal
      })
      await response.body.dump().catch(() => {})
      return { status: response.statusCode, retryAfterMs: retryAfterOf(response.headers['retry-after']) }
    } catch (err) {
      this.options.log.debug({ err, endpoint: origin(delivery) }, 'push attempt failed')
      return {}
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Lets the event loop read the sockets before the next push's CPU. */
const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

const origin = (delivery: Delivery) => new URL(delivery.subscription.endpoint).origin

/** Retry-After in seconds or as an HTTP date (RFC 9110), in ms from now. */
function retryAfterOf (value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value
  if (text === undefined) return undefined
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000
  const date = Date.parse(text)
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined
}
