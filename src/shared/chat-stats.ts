import { ERROR_CODES } from '../schemas/common.ts'

/** Upper bounds (seconds) of the fan-out time buckets: from a lone member to thousands. */
export const FANOUT_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1] as const

/** Upper bounds (seconds) of webhook delivery latency, event time to 2xx: a prompt answer to hours of retries. */
export const WEBHOOK_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] as const

/** What became of a webhook delivery attempt: answered 2xx, failed (retried later), or failed for the last time (parked). */
export const WEBHOOK_OUTCOMES = ['delivered', 'failed', 'parked'] as const
export type WebhookOutcome = typeof WEBHOOK_OUTCOMES[number]

/**
 * Observations counted per bucket, for a Prometheus histogram read when scraped: plain counts
 * (not cumulative) per upper bound, then +Inf, so observing costs a few comparisons and no
 * allocation.
 */
export class Buckets {
  readonly counts: number[]
  sum = 0
  count = 0

  constructor (readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0)
  }

  observe (value: number): void {
    let bucket = 0
    while (bucket < this.bounds.length && value > this.bounds[bucket]!) bucket++
    this.counts[bucket]!++
    this.sum += value
    this.count++
  }
}

/** The label counted for frames that are not a valid client frame (bad JSON, unknown type, binary). */
export const INVALID_FRAME = 'invalid'

/**
 * What this node has done, as plain numbers that the hot paths bump and /metrics reads when
 * scraped. Bumping a field is the whole cost of recording, so a broadcast records one
 * addition whatever its number of members. Keyed counts start at zero for every known key, so
 * each series exists from the first scrape, and only known keys are ever added (a client
 * cannot create a label value).
 */
export class ChatStats {
  connectionsOpened = 0
  messagesStored = 0
  deliveries = 0
  slowConsumers = 0
  heartbeatTimeouts = 0
  /** Refused JWTs (upgrade or refresh) and wrong admin tokens. */
  authFailures = 0
  /** REST calls and upgrades answered 429 by the per-IP limit. */
  requestsRateLimited = 0
  /** Operations on the storage engine that failed while serving a client or an operator. */
  storageErrors = 0
  /** Errors the Redis engine reported (lost connections, failed publishes or heartbeats). */
  redisErrors = 0
  /** Client frames by type, and INVALID_FRAME for the rest. */
  readonly framesReceived: Record<string, number>
  /** Error frames sent, by code. */
  readonly errorsSent: Record<string, number> = zeroes(ERROR_CODES)
  /** Fan-out time per broadcast, seconds. */
  readonly fanout = new Buckets(FANOUT_BUCKETS)
  /** Webhook delivery attempts by outcome. */
  readonly webhookDeliveries: Record<string, number> = zeroes(WEBHOOK_OUTCOMES)
  /** Webhook events answered 2xx: seconds from the event's time to the answer. */
  readonly webhookLatency = new Buckets(WEBHOOK_LATENCY_BUCKETS)

  /** `frameTypes`: every client frame type of the protocol, each counted from zero. */
  constructor (frameTypes: string[] = []) {
    this.framesReceived = zeroes([...frameTypes, INVALID_FRAME])
  }

  frameReceived (type: string): void {
    this.framesReceived[type] = (this.framesReceived[type] ?? 0) + 1
  }

  errorSent (code: string): void {
    this.errorsSent[code] = (this.errorsSent[code] ?? 0) + 1
  }

  webhookAttempt (outcome: WebhookOutcome): void {
    this.webhookDeliveries[outcome]!++
  }
}

function zeroes (keys: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const key of keys) counts[key] = 0
  return counts
}
