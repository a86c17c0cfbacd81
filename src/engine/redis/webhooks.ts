import { createHash } from 'node:crypto'
import type { EngineLog, RedisClient } from './connection.ts'
import { globalKeys, PARTITIONS, partitionKeys, partitionOf } from './keys.ts'
import { ATTEMPT_TIMEOUT_MS, type QueuedEvent, type WebhookFeed, type WebhookStore } from '../types.ts'
import type { FailedEvent } from '../../schemas/webhooks.ts'

/** A lease lives this long unless renewed: a node that dies leaves its partitions to others within it (and a tick). */
export const LEASE_TTL_MS = 15_000
/** How often a node renews its leases and takes free ones. */
const LEASE_TICK_MS = 5000
/**
 * A node starts no attempt later than this before its lease would run out, so an attempt under
 * way (at most the attempt timeout) ends before another node could take the partition.
 */
const LEASE_MARGIN_MS = ATTEMPT_TIMEOUT_MS + 2000
/** Entries of one partition a node holds at most (ids only); more are read as these finish. */
const WINDOW = 1000
/** How often an idle partition is looked at for new entries; a busy one is read again at once. */
const IDLE_POLL_MS = 500
/** Finished partitions are trimmed at most this often. */
const TRIM_MS = 1000
/** The consumer name in every group: only the lease holder reads, and a new holder takes over its pending entries. */
const CONSUMER = 'delivery'

/** A short stable key of a URL, for group and key names (URLs may carry credentials). */
export const urlKey = (url: string) => createHash('sha256').update(url).digest('hex').slice(0, 16)
export const groupOf = (url: string) => `webhook:${urlKey(url)}`

interface ParkedRecord { id: string, type: FailedEvent['type'], room: string, urls: Record<string, { attempts: number, lastError: string }> }

function field (fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]
  return undefined
}

export interface RedisWebhooksOptions {
  redis: RedisClient
  log: EngineLog
  nodeId: string
  /** A node whose last heartbeat is older than this is not counted for the fair share of leases. */
  staleMs: number
}

/**
 * The delivery side of the Redis outbox: per partition a stream (`chat:{pN}:outbox`), and per
 * webhook URL a consumer group on each stream (`webhook:<urlKey>`, created at the stream's end
 * when the URL first appears, so a new URL gets the events from then on).
 *
 * Each (URL, partition) is delivered by one node at a time: the holder of its lease, which it
 * renews every 5 s; a node takes free leases up to its fair share (partitions / live nodes) and
 * gives back what is over it, once its attempts under way are done. The holder reads entries
 * with XREADGROUP as the group's single consumer, so the group's pending entries are exactly the
 * events read and not yet finished: a node that takes over (the holder died, or gave the lease
 * back) reads those first, in order, then new ones. Finishing an event (2xx or parked) is an
 * XACK. A holder keeps at most WINDOW entry ids of a partition in memory, in per-room queues,
 * and reads bodies when it sends them. Entries every group has finished are trimmed.
 */
export function createRedisWebhooks (options: RedisWebhooksOptions): WebhookStore {
  const { redis, log, nodeId } = options
  const feeds: UrlFeed[] = []

  class Partition {
    readonly keys
    readonly rooms = new Map<string, string[]>()
    /** Entries read and not finished (queued or being sent). */
    held = 0
    /** Events handed to the worker and not finished: the lease is given back only at 0. */
    out = 0
    validUntil: number
    stopped = false
    releasing = false
    private reading = false
    private position = '0'
    private timer: NodeJS.Timeout | undefined
    private acks: string[] = []
    private ackScheduled = false
    private lastTrim = 0
    private trimTimer: NodeJS.Timeout | undefined

    constructor (readonly number: number, readonly feed: UrlFeed, renewedAt: number) {
      this.keys = partitionKeys(number)
      this.validUntil = renewedAt + LEASE_TTL_MS - LEASE_MARGIN_MS
      this.read()
    }

    valid (): boolean {
      return !this.stopped && !this.releasing && Date.now() < this.validUntil
    }

    /** Held, but the lease may have run out: renewals failed for longer than the margin. */
    lapsed (): boolean {
      return !this.stopped && !this.releasing && Date.now() >= this.validUntil
    }

    /** Reads entries while there is room in the window; polls again when idle. */
    read (): void {
      if (this.reading || this.stopped || this.releasing) return
      clearTimeout(this.timer)
      this.timer = undefined
      const room = WINDOW - this.held
      if (room <= 0) return
      this.reading = true
      const { group } = this.feed
      redis.chatOutboxRead(this.keys.outbox, group, CONSUMER, String(room), this.position)
        .then((entries) => {
          this.reading = false
          if (this.stopped) return
          if (this.position !== '>') {
            // The group's pending entries first (a previous holder's), then new ones.
            if (entries.length === 0) this.position = '>'
            else this.position = entries[entries.length - 1]![0]
          }
          for (const [id, fields] of entries) this.take(id, fields)
          if (entries.length > 0 || this.position !== '>') this.read()
          else this.idle()
        }, (err: unknown) => {
          this.reading = false
          if ((err as Error).message.includes('NOGROUP')) void this.feed.ensureGroup(this.number)
          else log.debug({ err, partition: this.number }, 'reading webhook events failed')
          this.idle()
        })
    }

    private idle (): void {
      if (this.stopped || this.releasing) return
      this.timer = setTimeout(() => this.read(), IDLE_POLL_MS)
      this.timer.unref()
    }

    private take (id: string, fields: string[]): void {
      const room = field(fields, 'r')
      const to = field(fields, 'to')
      // Entries without a room cannot be delivered; a retry for other URLs is not this one's.
      if (room === undefined || (to !== undefined && !to.split(',').includes(this.feed.key))) {
        this.ack(id)
        return
      }
      let queue = this.rooms.get(room)
      if (queue === undefined) this.rooms.set(room, queue = [])
      queue.push(id)
      this.held++
      this.feed.wake(room)
    }

    /** Finishes the entry for this URL (batched per turn), and trims what every group has finished. */
    ack (id: string): void {
      this.acks.push(id)
      if (this.ackScheduled) return
      this.ackScheduled = true
      setImmediate(() => {
        void this.flushAcks()
        this.trimSoon()
      })
    }

    /** Sends the acks gathered so far; before a lease is given back, so the next holder does not send them again. */
    async flushAcks (): Promise<void> {
      this.ackScheduled = false
      if (this.acks.length === 0) return
      const ids = this.acks
      this.acks = []
      await redis.xack(this.keys.outbox, this.feed.group, ...ids)
        .catch((err: unknown) => log.error({ err, partition: this.number }, 'finishing webhook events failed'))
    }

    private trimSoon (): void {
      if (this.trimTimer !== undefined) return
      const wait = Math.max(0, this.lastTrim + TRIM_MS - Date.now())
      this.trimTimer = setTimeout(() => {
        this.trimTimer = undefined
        this.lastTrim = Date.now()
        redis.chatOutboxTrim(this.keys.outbox).catch((err: unknown) => log.debug({ err }, 'trimming the outbox failed'))
      }, wait)
      this.trimTimer.unref()
    }

    finished (): void {
      this.held--
      this.out--
      if (this.releasing && this.out <= 0) void this.feed.letGo(this)
      else this.read()
    }

    stop (): void {
      this.stopped = true
      clearTimeout(this.timer)
      clearTimeout(this.trimTimer)
      this.rooms.clear()
    }

    /** Stops reading and handing out events; the lease is given back once those out are finished. */
    release (): void {
      this.releasing = true
      clearTimeout(this.timer)
      clearTimeout(this.trimTimer)
      this.rooms.clear()
      if (this.out <= 0) void this.feed.letGo(this)
    }
  }

  class UrlFeed implements WebhookFeed {
    readonly key: string
    readonly group: string
    readonly partitions = new Map<number, Partition>()
    private readonly ready: Promise<void>
    private readonly timer: NodeJS.Timeout
    private tick: Promise<void> | undefined
    private closed = false

    constructor (readonly url: string, readonly wake: (room: string) => void) {
      this.key = urlKey(url)
      this.group = groupOf(url)
      this.ready = Promise.all(Array.from({ length: PARTITIONS }, (_, p) => this.ensureGroup(p))).then(() => {})
      this.timer = setInterval(() => this.beat(), LEASE_TICK_MS)
      this.timer.unref()
      this.beat()
    }

    async ensureGroup (partition: number): Promise<void> {
      await redis.chatGroupCreate(partitionKeys(partition).outbox, this.group)
        .catch((err: unknown) => log.error({ err, partition }, 'creating a webhook consumer group failed'))
    }

    private beat (): void {
      if (this.closed || this.tick !== undefined) return
      this.tick = this.leases().catch((err: unknown) => log.error({ err, url: this.url }, 'webhook leases failed'))
        .finally(() => { this.tick = undefined })
    }

    /** Renews what is held, then takes free partitions up to this node's share, or gives back what is over it. */
    private async leases (): Promise<void> {
      await this.ready
      const renewedAt = Date.now()
      const held = [...this.partitions.values()]
      const renewed = await Promise.all(held.map((partition) =>
        redis.chatLeaseRenew(partition.keys.hookLease(this.key), nodeId, String(LEASE_TTL_MS)).catch(() => -1)))
      held.forEach((partition, i) => {
        if (renewed[i] === 1) partition.validUntil = renewedAt + LEASE_TTL_MS - LEASE_MARGIN_MS
        // Lost (taken for expired): stop at once. A failed renewal lets the lease run out on its own.
        else if (renewed[i] === 0) this.drop(partition)
      })
      if (this.closed) return
      const live = await redis.chatLiveNodes(globalKeys.nodes, String(options.staleMs))
      const share = Math.ceil(PARTITIONS / live)
      const keeping = [...this.partitions.values()].filter((partition) => !partition.releasing)
      for (const partition of keeping.slice(share)) partition.release()
      let count = Math.min(keeping.length, share)
      if (count >= share) return
      // Free partitions in a random order, so nodes starting together do not race for the same ones.
      const candidates = Array.from({ length: PARTITIONS }, (_, p) => p).filter((p) => !this.partitions.has(p))
      for (let i = candidates.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!]
      }
      for (const p of candidates) {
        if (count >= share || this.closed) break
        const takenAt = Date.now()
        if (await redis.set(partitionKeys(p).hookLease(this.key), nodeId, 'PX', LEASE_TTL_MS, 'NX') !== 'OK') continue
        if (this.closed) {
          await redis.chatLeaseRelease(partitionKeys(p).hookLease(this.key), nodeId)
          break
        }
        this.partitions.set(p, new Partition(p, this, takenAt))
        count++
      }
    }

    private drop (partition: Partition): void {
      partition.stop()
      if (this.partitions.get(partition.number) === partition) this.partitions.delete(partition.number)
    }

    async letGo (partition: Partition): Promise<void> {
      this.drop(partition)
      await partition.flushAcks()
      await redis.chatLeaseRelease(partition.keys.hookLease(this.key), nodeId).catch(() => {})
    }

    private holder (room: string): Partition | undefined {
      const partition = this.partitions.get(partitionOf(room))
      if (partition === undefined) return undefined
      if (partition.valid()) return partition
      this.lapse(partition)
      return undefined
    }

    /**
     * Stops using a partition whose lease may have run out (its renewals failed): its unfinished
     * events stay pending in the group, and whoever takes the lease next (this node too, once it
     * expires) reads them again first, in order. Using it on would hand out events that a lapse
     * then drops, and read newer ones of the same rooms past them.
     */
    private lapse (partition: Partition): void {
      if (!partition.lapsed()) return
      log.warn({ url: this.url, partition: partition.number }, 'webhook lease renewals failed; its events wait for the next holder')
      this.drop(partition)
    }

    async next (room: string): Promise<QueuedEvent | undefined> {
      const partition = this.holder(room)
      const id = partition?.rooms.get(room)?.shift()
      if (partition === undefined || id === undefined) return undefined
      if (partition.rooms.get(room)?.length === 0) partition.rooms.delete(room)
      partition.out++
      const attempts = await redis.hget(partition.keys.hookAttempts, `${this.key} ${id}`).catch(() => null)
      return { room, ref: `${partition.number}/${id}`, attempts: attempts === null ? 0 : (JSON.parse(attempts) as { attempts: number }).attempts }
    }

    /** The partition and entry of an event handed out by next(). */
    private where (event: QueuedEvent): { partition: Partition | undefined, keys: ReturnType<typeof partitionKeys>, id: string } {
      const [number, id] = event.ref.split('/') as [string, string]
      const partition = this.partitions.get(Number(number))
      return { partition, keys: partitionKeys(Number(number)), id }
    }

    async body (event: QueuedEvent): Promise<string | undefined> {
      const { partition, keys, id } = this.where(event)
      if (partition === undefined || !partition.valid()) {
        // Released or lapsed: the event stays pending for the next holder.
        if (partition?.lapsed() === true) this.lapse(partition)
        else this.settle(event)
        return undefined
      }
      const found = await redis.xrange(keys.outbox, id, id)
      const body = found[0] === undefined ? undefined : field(found[0][1], 'e')
      if (body === undefined) {
        partition.ack(id)
        this.settle(event)
      }
      return body
    }

    /** The worker is done with the event (or it is no longer this node's): the window has room again. */
    private settle (event: QueuedEvent): void {
      this.where(event).partition?.finished()
    }

    delivered (event: QueuedEvent): void {
      const { partition, keys, id } = this.where(event)
      if (partition !== undefined) partition.ack(id)
      else redis.xack(keys.outbox, this.group, id).catch(() => {})
      if (event.attempts > 0) redis.hdel(keys.hookAttempts, `${this.key} ${id}`).catch(() => {})
      this.settle(event)
    }

    async failed (event: QueuedEvent, attempts: number, error: string): Promise<void> {
      const { keys, id } = this.where(event)
      event.attempts = attempts
      await redis.hset(keys.hookAttempts, `${this.key} ${id}`, JSON.stringify({ attempts, lastError: error }))
        .catch((err: unknown) => log.error({ err }, 'recording a failed webhook attempt failed'))
    }

    async parked (event: QueuedEvent, attempts: number, error: string): Promise<void> {
      const { keys, id } = this.where(event)
      // A failure is thrown to the worker, which tries again: the event is not finished until parked.
      await redis.chatWebhookPark(keys.outbox, keys.hookAttempts, keys.hooksFailed, keys.hooksFailedOrder,
        this.group, id, this.key, this.url, String(attempts), error)
      this.settle(event)
    }

    async close (): Promise<void> {
      this.closed = true
      clearInterval(this.timer)
      await this.tick
      // The worker has finished its attempts: give every partition back at once.
      await Promise.all([...this.partitions.values()].map((partition) => this.letGo(partition)))
      const index = feeds.indexOf(this)
      if (index >= 0) feeds.splice(index, 1)
    }
  }

  return {
    feed (url, wake) {
      const feed = new UrlFeed(url, wake)
      feeds.push(feed)
      return feed
    },

    async forgetOthers (urls) {
      const keep = urls.map(groupOf)
      await Promise.all(Array.from({ length: PARTITIONS }, async (_, p) => {
        const outbox = partitionKeys(p).outbox
        if (await redis.chatGroupsForget(outbox, ...keep) > 0) await redis.chatOutboxTrim(outbox)
      }))
    },

    async failed (limit) {
      const events: FailedEvent[] = []
      for (let p = 0; p < PARTITIONS && events.length < limit; p++) {
        const keys = partitionKeys(p)
        const ids = await redis.zrange(keys.hooksFailedOrder, 0, limit - events.length - 1)
        if (ids.length === 0) continue
        const records = await redis.hmget(keys.hooksFailed, ...ids)
        for (const text of records) {
          if (text === null) continue
          const record = JSON.parse(text) as ParkedRecord
          for (const [url, { attempts, lastError }] of Object.entries(record.urls)) {
            events.push({ id: record.id, type: record.type, room: record.room, url, attempts, lastError })
          }
        }
      }
      return events.slice(0, limit)
    },

    async retry (id) {
      const found = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => {
        const keys = partitionKeys(p)
        return redis.chatWebhookRetry(keys.hooksFailed, keys.hooksFailedOrder, keys.outbox, id)
      }))
      return found.some((one) => one === 1)
    },

    async pending () {
      // Each partition counted by the node holding its lease for the first URL, so the nodes' figures add up.
      const first = feeds[0]
      if (first === undefined) return 0
      const lengths = await Promise.all([...first.partitions.values()].map((partition) => redis.xlen(partition.keys.outbox).catch(() => 0)))
      return lengths.reduce((sum, length) => sum + length, 0)
    }
  }
}
