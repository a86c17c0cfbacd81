import { Cluster } from 'ioredis'
import { type EventKinds, roomOf } from '../events.ts'
import type { ChatBroker, OnlineUser, OutboxOptions, RoomEvent } from '../types.ts'
import { eventIdFor } from './outbox.ts'
import { answers, type EngineLog, type RedisClient } from './connection.ts'
import { parseNodeEvent } from './events.ts'
import { globalKeys, PARTITIONS, partitionKeys, presenceEntry, roomKeys } from './keys.ts'
import { type FeedHistory, redisFeedHistory } from './feed-history.ts'
import { createRoomFeeds, type RoomFeeds } from './room-feeds.ts'
import type { Subscriber, SubscriberHandlers } from './subscriber.ts'

export type { EngineLog } from './connection.ts'

/** PUBLISH on a single Redis, SPUBLISH (the room's shard channel) on a cluster. */
export type PublishCommand = 'publish' | 'spublish'

export interface RedisBrokerOptions {
  /** Commands, with the engine's scripts defined. */
  redis: RedisClient
  subscriber: Subscriber
  publish: PublishCommand
  defaultHistoryLimit: number
  nodeId: string
  log: EngineLog
  /** How often this node records its heartbeat and looks for dead nodes. */
  heartbeatMs: number
  /** A node whose last heartbeat is older than this is dead. */
  staleMs: number
  /** How long a room stays subscribed after its last member here left. */
  lingerMs?: number
  /** Called once the broker is closed. */
  onClose: () => Promise<void>
  /** Event types recorded with presence changes (presence.join, presence.leave); none when absent. */
  outbox?: OutboxOptions
  /** The features' event kinds, to check what arrives. */
  events: EventKinds
  /** Where rooms' gaps are read; Redis's own history when absent. */
  history?: FeedHistory
  /**
   * Told of each user who left a room because its node died, by the node that cleaned it up
   * (once): for an outbox kept elsewhere than Redis's (PostgreSQL's).
   */
  onDeadLeave?: (room: string, user: string, time: string) => void
}

export interface RedisBroker extends ChatBroker {
  /** The rooms this node follows; the store waits on them so a sender's message comes before its ack. */
  feeds: RoomFeeds
  /** Where the subscriber hands what it receives. */
  handlers: SubscriberHandlers
}

/** Presence entries taken from a dead node per script call, so Redis is never blocked long. */
const CLEANUP_CHUNK = 500
/** Upper bound on chunks per partition and pass; the next pass goes on where this one stopped. */
const CLEANUP_MAX_CHUNKS = 20
/** How long close() spends removing this node's presence before it lets go. */
const CLOSE_CLEANUP_MS = 3000

interface Held { room: string, user: string }

/**
 * Fan-out and presence over Redis. Events go through the room's channel to every node that
 * has members in the room, this one included, so each such node delivers each event once and
 * other nodes never see it. Presence is counted per room in a hash shared by all nodes; each
 * node also lists its own connections per partition, so that when a node dies the others can
 * uncount them and announce the leaves, partition by partition, each in one slot.
 *
 * Presence owner: the name under which this node's entries are listed. It changes when the
 * node learns it was taken for dead (it was only slow), so the entries being removed by the
 * others and those it counts back in never mix.
 */
export function createRedisBroker (options: RedisBrokerOptions): RedisBroker {
  const { redis, subscriber, nodeId, log } = options
  const listeners: ((event: RoomEvent) => void)[] = []
  /** This node's presence entries, to restore them if this node was taken for dead. */
  const held = new Map<string, Held>()
  /** Per room, this node's entries in it: the room is followed while there is one. */
  const local = new Map<string, Set<string>>()
  /** Removals that failed (Redis unreachable), retried on every heartbeat. */
  const unremoved = new Map<string, Held>()
  let closed = false
  let healthy = true
  let registered = false
  let generation = 0
  let owner = nodeId
  let tick: Promise<void> | undefined

  const feeds = createRoomFeeds({
    history: options.history ?? redisFeedHistory(redis, options.defaultHistoryLimit), subscriber, log, deliver, lingerMs: options.lingerMs, events: options.events
  })
  const nodePresence = (room: string) => partitionKeys(roomKeys(room).partition).nodePresence(owner)
  const { outbox } = options
  /** Counts the connection in, recording presence.join when it is the user's first. */
  const countIn = (room: string, user: string, entry: string) => {
    const keys = roomKeys(room)
    return redis.chatPresenceAdd(keys.presence, nodePresence(room), keys.outbox, user, entry,
      eventIdFor(outbox, 'presence.join'), new Date().toISOString(), room)
  }
  /** Uncounts the connection, recording presence.leave when it was the user's last. */
  const countOut = (room: string, user: string, entry: string) => {
    const keys = roomKeys(room)
    return redis.chatPresenceRemove(keys.presence, nodePresence(room), keys.outbox, user, entry,
      eventIdFor(outbox, 'presence.leave'), new Date().toISOString(), room)
  }

  function deliver (event: RoomEvent): void {
    if (closed) return
    if (event.kind === 'room_deleted') forgetRoom(event.room)
    for (const listener of listeners) {
      try {
        listener(event)
      } catch (err) {
        log.error({ err, kind: event.kind }, 'an event listener failed')
      }
    }
  }

  function track (room: string, entry: string): void {
    let entries = local.get(room)
    if (entries === undefined) {
      local.set(room, entries = new Set())
      feeds.want(room)
    }
    entries.add(entry)
  }

  function untrack (room: string, entry: string): void {
    const entries = local.get(room)
    if (entries === undefined || !entries.delete(entry) || entries.size > 0) return
    local.delete(room)
    feeds.unwant(room)
  }

  /** The room is gone: drop this node's entries of it, and any count re-created since. */
  function forgetRoom (room: string): void {
    for (const entry of local.get(room) ?? []) {
      const value = held.get(entry) ?? unremoved.get(entry)
      held.delete(entry)
      unremoved.delete(entry)
      untrack(room, entry)
      if (value === undefined) continue
      countOut(room, value.user, entry)
        .catch((err: unknown) => log.error({ err, room }, 'removing presence of a deleted room failed'))
    }
  }

  function send (channel: string, event: object): void {
    redis[options.publish](channel, JSON.stringify(event))
      .catch((err: unknown) => log.error({ err, channel }, 'publishing an event failed'))
  }

  const announce = (room: string, event: 'join' | 'leave', user: string) =>
    send(roomKeys(room).channel, { kind: 'presence', room, event, user, time: new Date().toISOString() })

  /**
   * Uncounts a presence owner's entries, partition by partition, once it is claimed as dead
   * (`staleMs` '' claims a live one: this node's own, when closing). Deregisters it when none
   * are left; a pass cut short by the chunk bound leaves it claimed for the next pass.
   */
  async function cleanupOwner (id: string, staleMs: string): Promise<number> {
    if (await redis.chatClaimNode(globalKeys.nodes, id, staleMs) !== 1) return 0
    const time = new Date().toISOString()
    let finished = true
    const counts = await Promise.all(Array.from({ length: PARTITIONS }, async (_, partition) => {
      const keys = partitionKeys(partition)
      let total = 0
      for (let chunk = 0; chunk < CLEANUP_MAX_CHUNKS; chunk++) {
        const [taken, ...left] = await redis.chatCleanupPartition(keys.nodePresence(id), keys.outbox, String(CLEANUP_CHUNK),
          keys.presencePrefix, keys.channelPrefix, options.publish, time, eventIdFor(outbox, 'presence.leave'))
        for (let i = 0; i + 1 < left.length; i += 2) options.onDeadLeave?.(left[i]!, left[i + 1]!, time)
        if (taken <= 0) return total
        total += taken
      }
      finished = false
      return total
    }))
    if (finished) {
      await redis.chatForgetNode(globalKeys.nodes, id)
      send(globalKeys.nodeChannel, { kind: 'node_down', owner: id })
    }
    return counts.reduce((sum, count) => sum + count, 0)
  }

  /** This node was taken for dead: count its connections in again, under a new owner. */
  async function reincarnate (): Promise<void> {
    owner = `${nodeId}~${++generation}`
    await redis.chatHeartbeat(globalKeys.nodes, owner, '1')
    let restored = 0
    for (const [entry, { room, user }] of held) {
      const first = await countIn(room, user, entry)
      if (first === 1) announce(room, 'join', user)
      restored++
    }
    log.warn({ nodeId, owner, restored }, 'this node had been taken for dead; its presence is restored')
  }

  async function heartbeat (): Promise<void> {
    try {
      if (!registered) {
        await redis.chatHeartbeat(globalKeys.nodes, owner, '1')
        registered = true
      } else if (await redis.chatHeartbeat(globalKeys.nodes, owner, '0') === 1) {
        await reincarnate()
      }
      for (const [entry, { room, user }] of unremoved) {
        const last = await countOut(room, user, entry)
        unremoved.delete(entry)
        if (last === 1) announce(room, 'leave', user)
      }
      const stale = await redis.chatStaleNodes(globalKeys.nodes, String(options.staleMs))
      for (const id of stale) {
        if (id === owner || closed) continue
        const removed = await cleanupOwner(id, String(options.staleMs))
        // Every live node may clean the same dead one; only those that took entries say so.
        if (removed > 0) log.info({ node: id, removed }, 'removed the presence of a dead node')
      }
      if (!healthy) log.info({ nodeId }, 'Redis heartbeat restored')
      healthy = true
    } catch (err) {
      if (healthy) log.error({ err, nodeId }, 'Redis heartbeat failed')
      healthy = false
    }
  }

  function beat (): void {
    if (closed || tick !== undefined) return
    tick = heartbeat().finally(() => { tick = undefined })
  }
  // A cluster client fails commands until it is ready: the first beat waits for it (and an
  // outage ends with one).
  if (redis.status === 'ready' || !(redis instanceof Cluster)) beat()
  const timer = setInterval(beat, options.heartbeatMs)
  timer.unref()
  redis.on('ready', beat)

  const handlers: SubscriberHandlers = {
    message (channel, text) {
      if (closed) return
      if (channel !== globalKeys.nodeChannel) return feeds.message(channel, text)
      const event = parseNodeEvent(text)
      // Another node removed this node's presence: count it back in now rather than at the next beat.
      if (event?.owner === owner) beat()
    },
    restored: (channels) => feeds.restored(channels)
  }
  subscriber.subscribe(globalKeys.nodeChannel).catch(() => {})

  return {
    feeds,
    handlers,
    publish (event) {
      if (closed) return
      send(roomKeys(roomOf(event)).channel, event)
    },
    subscribe (listener) {
      listeners.push(listener)
    },
    async presenceAdd (room, user, connectionId) {
      const entry = presenceEntry(room, user, connectionId)
      held.set(entry, { room, user })
      unremoved.delete(entry)
      track(room, entry)
      // Counted and subscribed together: the join's reads come after both.
      const [first] = await Promise.all([
        countIn(room, user, entry),
        feeds.ready(room)
      ])
      return first === 1
    },
    async presenceRemove (room, user, connectionId) {
      // Once closed, close() has uncounted this node's connections and announced the leaves.
      if (closed) return false
      const entry = presenceEntry(room, user, connectionId)
      held.delete(entry)
      untrack(room, entry)
      try {
        return await countOut(room, user, entry) === 1
      } catch (err) {
        unremoved.set(entry, { room, user })
        throw err
      }
    },
    async online (room) {
      const counts = await redis.hgetall(roomKeys(room).presence)
      // Presence events already counted in this read reach the hub before the join ends.
      await feeds.barrier(room)
      const users: OnlineUser[] = []
      for (const [user, count] of Object.entries(counts)) {
        const connections = Number(count)
        if (connections > 0) users.push({ user, connections })
      }
      return users
    },
    async presenceClear (room) {
      await redis.del(roomKeys(room).presence)
    },
    async ready () {
      return !closed && subscriber.ready() && subscriber.active(globalKeys.nodeChannel) && await answers(redis)
    },
    async close () {
      if (closed) return
      closed = true
      clearInterval(timer)
      redis.off('ready', beat)
      listeners.length = 0
      await tick
      // Connections still counted here (shutdown closes them first, so normally none) leave now.
      let deadline: NodeJS.Timeout | undefined
      await Promise.race([
        cleanupOwner(owner, '').catch((err: unknown) => log.error({ err, nodeId }, 'removing this node\'s presence failed')),
        new Promise((resolve) => { deadline = setTimeout(resolve, CLOSE_CLEANUP_MS) })
      ])
      clearTimeout(deadline)
      held.clear()
      unremoved.clear()
      await options.onClose()
    }
  }
}
