import { ERROR_CODES } from '../schemas/common.ts'
import { clientFrameSchemas } from '../schemas/frames.ts'

/** Upper bounds (seconds) of the fan-out time buckets: from a lone member to thousands. */
export const FANOUT_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1] as const

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
  readonly framesReceived: Record<string, number> = zeroes([...Object.keys(clientFrameSchemas), INVALID_FRAME])
  /** Error frames sent, by code. */
  readonly errorsSent: Record<string, number> = zeroes(ERROR_CODES)
  /** Fan-out time per broadcast: counts per FANOUT_BUCKETS bound (not cumulative), then +Inf. */
  readonly fanoutBuckets: number[] = new Array<number>(FANOUT_BUCKETS.length + 1).fill(0)
  fanoutSeconds = 0
  fanoutCount = 0

  frameReceived (type: string): void {
    this.framesReceived[type] = (this.framesReceived[type] ?? 0) + 1
  }

  errorSent (code: string): void {
    this.errorsSent[code] = (this.errorsSent[code] ?? 0) + 1
  }

  observeFanout (seconds: number): void {
    let bucket = 0
    while (bucket < FANOUT_BUCKETS.length && seconds > FANOUT_BUCKETS[bucket]!) bucket++
    this.fanoutBuckets[bucket]!++
    this.fanoutSeconds += seconds
    this.fanoutCount++
  }
}

function zeroes (keys: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const key of keys) counts[key] = 0
  return counts
}
