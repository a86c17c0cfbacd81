import calculateSlot from 'cluster-key-slot'
import type { Cluster, Redis } from 'ioredis'
import { addressOf, type EngineLog, serverConnection, type ServerTarget, shutdown } from './connection.ts'

export interface SubscriberHandlers {
  message (channel: string, text: string): void
  /**
   * Channels subscribed again after their connection was lost or their slot moved to another
   * primary: what was published to them meanwhile did not arrive here.
   */
  restored (channels: string[]): void
}

export interface Subscriber {
  /**
   * Wants the channel. Subscriptions asked for in one event-loop turn go out together, one
   * command per slot on a cluster (SSUBSCRIBE takes channels of one slot). Resolves once the
   * server has confirmed it, so everything published afterwards arrives here; rejects if the
   * channel is unsubscribed first.
   */
  subscribe (channel: string): Promise<void>
  unsubscribe (channel: string): void
  /** Resolves once everything published to the channel before the call has arrived here. */
  barrier (channel: string): Promise<void>
  /** Whether the channel's subscription is in place now. */
  active (channel: string): boolean
  /** Whether every subscriber connection is up. */
  ready (): boolean
  close (): Promise<void>
}

export type SubscriberTarget =
  | { kind: 'single', server: ServerTarget }
  | { kind: 'cluster', url: string, cluster: Cluster }

interface Shard { key: string, conn: Redis }

interface Wanted {
  slot: number
  /** The connection the channel is subscribed on (or being subscribed on). */
  shard: Shard | undefined
  active: boolean
  /** Was active once: becoming active again means events may have been missed. */
  seen: boolean
  waiters: { resolve: () => void, reject: (err: Error) => void }[]
}

const SINGLE = 'single'
/** Channels per SUBSCRIBE command on a single Redis. */
const CHUNK = 500
const RETRY_MS = 1000

/**
 * The pub/sub side of the engine: one subscriber connection on a single Redis (SUBSCRIBE, any
 * version), one per primary on a cluster (SSUBSCRIBE: a shard channel lives on the primary
 * that owns its slot, so each node hears only the primaries of the rooms it has members in).
 *
 * Written here rather than taken from ioredis' own sharded subscribers (Cluster option
 * `shardedSubscribers`), because gap repair needs what that API does not tell: the moment a
 * channel's subscription is in place again after a lost connection or a moved slot (ioredis
 * resubscribes without reporting when it is confirmed), and the connection that carries a
 * channel, for a barrier PING.
 *
 * Topology: the cluster client's slot map (refreshed every 2 s and on MOVED) says which
 * primary owns each slot; when it changes, channels move to their new owner and are reported
 * restored.
 */
export function createSubscriber (target: SubscriberTarget, handlers: SubscriberHandlers, name: string, log: EngineLog): Subscriber {
  const sharded = target.kind === 'cluster'
  const wanted = new Map<string, Wanted>()
  const shards = new Map<string, Shard>()
  /** Wanted channels not yet asked for on their owner. */
  const todo = new Set<string>()
  /** Channels to unsubscribe, per connection. */
  const drops = new Map<Shard, Set<string>>()
  let closed = false
  let scheduled = false
  let retry: NodeJS.Timeout | undefined
  let slotMap = ''

  const ownerOf = (slot: number): string | undefined =>
    target.kind === 'single' ? SINGLE : target.cluster.slots[slot]?.[0]

  function schedule (): void {
    if (scheduled || closed) return
    scheduled = true
    setImmediate(flush)
  }

  function retryLater (): void {
    if (retry !== undefined || closed) return
    retry = setTimeout(() => {
      retry = undefined
      schedule()
    }, RETRY_MS)
    retry.unref()
  }

  function openShard (key: string): Shard {
    let address: ServerTarget
    if (target.kind === 'cluster') {
      const colon = key.lastIndexOf(':')
      address = { ...addressOf(target.url), host: key.slice(0, colon), port: Number(key.slice(colon + 1)) }
    } else {
      address = target.server
    }
    const conn = serverConnection(address, `${name}:events`, log)
    const shard: Shard = { key, conn }
    conn.on('ready', () => {
      for (const [channel, entry] of wanted) if (ownerOf(entry.slot) === key) todo.add(channel)
      schedule()
    })
    conn.on('close', () => lose(shard))
    conn.on(sharded ? 'smessage' : 'message', (channel: string, text: string) => {
      if (!closed && wanted.has(channel)) handlers.message(channel, text)
    })
    // A SSUBSCRIBE answered MOVED: the slot map is out of date.
    if (target.kind === 'cluster') conn.on('moved', () => target.cluster.refreshSlotsCache())
    shards.set(key, shard)
    return shard
  }

  /** The connection is gone: nothing is subscribed on it any more. */
  function lose (shard: Shard): void {
    drops.delete(shard)
    for (const [channel, entry] of wanted) {
      if (entry.shard !== shard) continue
      entry.shard = undefined
      entry.active = false
      todo.add(channel)
    }
  }

  /** Cluster: one connection per primary; channels whose slot changed owner move. */
  function syncShards (): void {
    if (target.kind !== 'cluster' || closed) return
    const owners: string[] = []
    let map = ''
    let previous: string | undefined
    for (let slot = 0; slot < 16384; slot++) {
      const owner = target.cluster.slots[slot]?.[0]
      if (owner !== previous) map += `${slot}=${owner ?? ''};`
      if (owner !== undefined && owner !== previous && !owners.includes(owner)) owners.push(owner)
      previous = owner
    }
    if (map === slotMap) return
    slotMap = map
    for (const owner of owners) if (!shards.has(owner)) openShard(owner)
    for (const [key, shard] of shards) {
      if (owners.includes(key)) continue
      shards.delete(key)
      lose(shard)
      shard.conn.disconnect()
    }
    for (const [channel, entry] of wanted) {
      if (entry.shard === undefined || entry.shard.key === ownerOf(entry.slot)) continue
      dropOn(entry.shard, channel)
      entry.shard = undefined
      entry.active = false
      todo.add(channel)
    }
    schedule()
  }

  function dropOn (shard: Shard, channel: string): void {
    let channels = drops.get(shard)
    if (channels === undefined) drops.set(shard, channels = new Set())
    channels.add(channel)
  }

  /** Groups channels by slot on a cluster (one command per slot), in chunks on a single Redis. */
  function commands (channels: string[]): string[][] {
    if (!sharded) {
      const chunks: string[][] = []
      for (let i = 0; i < channels.length; i += CHUNK) chunks.push(channels.slice(i, i + CHUNK))
      return chunks
    }
    const bySlot = new Map<number, string[]>()
    for (const channel of channels) {
      const slot = wanted.get(channel)?.slot ?? calculateSlot(channel)
      const group = bySlot.get(slot)
      if (group === undefined) bySlot.set(slot, [channel])
      else group.push(channel)
    }
    return [...bySlot.values()]
  }

  function flush (): void {
    scheduled = false
    if (closed) return
    for (const [shard, channels] of drops) {
      if (shard.conn.status !== 'ready') continue
      drops.delete(shard)
      for (const group of commands([...channels])) {
        const done = sharded ? shard.conn.sunsubscribe(...group) : shard.conn.unsubscribe(...group)
        done.catch((err: unknown) => log.debug({ err }, 'unsubscribing failed'))
      }
    }
    const asks = new Map<Shard, string[]>()
    for (const channel of todo) {
      const entry = wanted.get(channel)
      if (entry === undefined) {
        todo.delete(channel)
        continue
      }
      const owner = ownerOf(entry.slot)
      const shard = owner === undefined ? undefined : shards.get(owner)
      // Left in todo: the connection's ready event or the next slot map picks it up.
      if (shard === undefined || shard.conn.status !== 'ready') continue
      todo.delete(channel)
      if (entry.shard === shard) continue
      entry.shard = shard
      entry.active = false
      const list = asks.get(shard)
      if (list === undefined) asks.set(shard, [channel])
      else list.push(channel)
    }
    for (const [shard, channels] of asks) {
      for (const group of commands(channels)) {
        const done = sharded ? shard.conn.ssubscribe(...group) : shard.conn.subscribe(...group)
        done.then(() => confirmed(shard, group), (err: unknown) => {
          log.warn({ err, channels: group.length }, 'subscribing failed; retrying')
          for (const channel of group) {
            const entry = wanted.get(channel)
            if (entry?.shard !== shard) continue
            entry.shard = undefined
            todo.add(channel)
          }
          retryLater()
        })
      }
    }
  }

  function confirmed (shard: Shard, channels: string[]): void {
    const restored: string[] = []
    for (const channel of channels) {
      const entry = wanted.get(channel)
      if (entry?.shard !== shard || entry.active) continue
      entry.active = true
      if (entry.seen) restored.push(channel)
      entry.seen = true
      for (const waiter of entry.waiters) waiter.resolve()
      entry.waiters = []
    }
    if (restored.length > 0 && !closed) handlers.restored(restored)
  }

  const onRefresh = () => syncShards()
  if (target.kind === 'cluster') {
    target.cluster.on('refresh', onRefresh)
    target.cluster.on('ready', onRefresh)
    syncShards()
  } else {
    openShard(SINGLE)
  }

  return {
    subscribe (channel) {
      let entry = wanted.get(channel)
      if (entry?.active === true) return Promise.resolve()
      if (entry === undefined) {
        entry = { slot: sharded ? calculateSlot(channel) : 0, shard: undefined, active: false, seen: false, waiters: [] }
        wanted.set(channel, entry)
        todo.add(channel)
        schedule()
      }
      const waiting = entry
      return new Promise((resolve, reject) => waiting.waiters.push({ resolve, reject }))
    },
    unsubscribe (channel) {
      const entry = wanted.get(channel)
      if (entry === undefined) return
      wanted.delete(channel)
      todo.delete(channel)
      if (entry.shard !== undefined) {
        dropOn(entry.shard, channel)
        schedule()
      }
      for (const waiter of entry.waiters) waiter.reject(new Error(`unsubscribed from ${channel}`))
    },
    async barrier (channel) {
      const entry = wanted.get(channel)
      const conn = entry?.active === true ? entry.shard?.conn : undefined
      if (conn === undefined || conn.status !== 'ready') return
      await conn.ping().catch(() => {})
    },
    active: (channel) => wanted.get(channel)?.active === true,
    ready: () => !closed && shards.size > 0 && [...shards.values()].every((shard) => shard.conn.status === 'ready'),
    async close () {
      if (closed) return
      closed = true
      clearTimeout(retry)
      if (target.kind === 'cluster') {
        target.cluster.off('refresh', onRefresh)
        target.cluster.off('ready', onRefresh)
      }
      for (const entry of wanted.values()) {
        for (const waiter of entry.waiters) waiter.reject(new Error('subscriber closed'))
      }
      wanted.clear()
      await Promise.all([...shards.values()].map((shard) => shutdown(shard.conn)))
      shards.clear()
    }
  }
}
