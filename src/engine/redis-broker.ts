import type { Redis } from 'ioredis'
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import { Id, Message } from '../schemas/common.ts'
import type { ChatBroker, OnlineUser, RoomEvent, TypingState } from './types.ts'
import { answers, PREFIX, presenceEntry, redisKeys as keys } from './redis-scripts.ts'

/** What the engine logs through: pino and Fastify's logger both fit. */
export interface EngineLog {
  error (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  info (obj: object, msg: string): void
  debug (obj: object, msg: string): void
}

export interface RedisBrokerOptions {
  /** Commands, with the engine's scripts defined. */
  redis: Redis
  /** A second connection, used only for the subscription (and barrier pings). */
  sub: Redis
  nodeId: string
  log: EngineLog
  /** See RedisStoreOptions.barrier: online() is read by a join too. */
  barrier: () => Promise<void>
  /** Whether `sub` is subscribed to the event channel right now. */
  subscribed: () => boolean
  /** How often this node records its heartbeat and looks for dead nodes. */
  heartbeatMs: number
  /** A node whose last heartbeat is older than this is dead. */
  staleMs: number
  /** Called once the broker is closed. */
  onClose: () => Promise<void>
}

/** Events as they travel between nodes; checked on arrival, since any node may send them. */
const RoomEventSchema = Type.Union([
  Type.Object({ kind: Type.Literal('message'), message: Message }),
  Type.Object({
    kind: Type.Literal('presence'), room: Id, event: Type.Union([Type.Literal('join'), Type.Literal('leave')]), user: Id, time: Type.String()
  }),
  Type.Object({ kind: Type.Literal('kick'), room: Id, user: Id, reason: Type.String() }),
  Type.Object({ kind: Type.Literal('room_deleted'), room: Id }),
  Type.Object({ kind: Type.Literal('updated'), message: Message }),
  Type.Object({ kind: Type.Literal('typing'), room: Id, users: Type.Array(Id) }),
  Type.Object({ kind: Type.Literal('read'), room: Id, user: Id, seq: Type.Integer({ minimum: 0 }) })
])
const roomEvent = Compile(RoomEventSchema)

/** Presence entries taken from a dead node per script call, so Redis is never blocked long. */
const CLEANUP_CHUNK = 500
/** Upper bound on chunks per node and pass; the next pass goes on where this one stopped. */
const CLEANUP_MAX_CHUNKS = 100
/** How long close() spends removing this node's presence before it lets go. */
const CLOSE_CLEANUP_MS = 3000

interface Held { room: string, user: string }

/**
 * Fan-out and presence over Redis. Every event goes through the channel, to every node this
 * one included, so each node delivers each event once. Presence is counted per room in a
 * hash shared by all nodes; each node also lists its own connections, so that when a node
 * dies the others can uncount them and announce the leaves.
 */
export function createRedisBroker (options: RedisBrokerOptions): ChatBroker {
  const { redis, sub, nodeId, log } = options
  const listeners: ((event: RoomEvent) => void)[] = []
  /** This node's presence entries, to restore them if this node was taken for dead. */
  const held = new Map<string, Held>()
  /** Removals that failed (Redis unreachable), retried on every heartbeat. */
  const unremoved = new Map<string, Held>()
  let closed = false
  let healthy = true
  let tick: Promise<void> | undefined

  sub.on('message', (channel: string, text: string) => {
    if (channel !== keys.channel || closed) return
    let event: unknown
    try {
      event = JSON.parse(text)
    } catch {
      event = undefined
    }
    if (!roomEvent.Check(event)) {
      log.warn({ event: text.slice(0, 200) }, 'ignored a malformed event from Redis')
      return
    }
    if (event.kind === 'room_deleted') forgetRoom(event.room)
    for (const listener of listeners) {
      try {
        listener(event)
      } catch (err) {
        log.error({ err, kind: event.kind }, 'an event listener failed')
      }
    }
  })

  /** The room is gone: drop this node's entries of it, and any count re-created since. */
  function forgetRoom (room: string): void {
    for (const [entry, value] of [...held, ...unremoved]) {
      if (value.room !== room) continue
      held.delete(entry)
      unremoved.delete(entry)
      redis.chatPresenceRemove(keys.presence(room), keys.nodePresence(nodeId), value.user, entry)
        .catch((err: unknown) => log.error({ err, room }, 'removing presence of a deleted room failed'))
    }
  }

  function send (event: RoomEvent): void {
    redis.publish(keys.channel, JSON.stringify(event))
      .catch((err: unknown) => log.error({ err, kind: event.kind }, 'publishing an event failed'))
  }

  async function typing (room: string, user: string, op: 'start' | 'stop' | 'sweep', ttlMs: number): Promise<TypingState> {
    const [changed, nextExpiry, ...users] = await redis.chatTyping(keys.typing(room), user, op, String(ttlMs), keys.channel, room)
    const state: TypingState = {}
    if (Number(nextExpiry) >= 0) state.nextExpiryMs = Number(nextExpiry)
    if (changed === 1) state.changed = users.map(String)
    return state
  }

  const leave = (room: string, user: string) =>
    send({ kind: 'presence', room, event: 'leave', user, time: new Date().toISOString() })

  /** Uncounts a node's presence, chunk by chunk; `staleMs` '' cleans even a live node (this one, closing). */
  async function cleanupNode (id: string, staleMs: string): Promise<number> {
    let total = 0
    for (let chunk = 0; chunk < CLEANUP_MAX_CHUNKS; chunk++) {
      const taken = await redis.chatCleanupNode(keys.nodes, keys.nodePresence(id), id, staleMs,
        String(CLEANUP_CHUNK), PREFIX, keys.channel, new Date().toISOString())
      if (taken <= 0) break
      total += taken
    }
    return total
  }

  /** Counts this node's connections again after another node took it for dead. */
  async function restore (): Promise<void> {
    let restored = 0
    for (const [entry, { room, user }] of held) {
      const first = await redis.chatPresenceAdd(keys.presence(room), keys.nodePresence(nodeId), user, entry)
      if (first === 1) send({ kind: 'presence', room, event: 'join', user, time: new Date().toISOString() })
      restored++
    }
    if (restored > 0) log.warn({ nodeId, restored }, 'this node had been taken for dead; its presence is restored')
  }

  async function heartbeat (): Promise<void> {
    try {
      if (await redis.chatHeartbeat(keys.nodes, nodeId) === 1) await restore()
      for (const [entry, { room, user }] of unremoved) {
        const last = await redis.chatPresenceRemove(keys.presence(room), keys.nodePresence(nodeId), user, entry)
        unremoved.delete(entry)
        if (last === 1) leave(room, user)
      }
      const stale = await redis.chatStaleNodes(keys.nodes, String(options.staleMs))
      for (const id of stale) {
        if (id === nodeId || closed) continue
        const removed = await cleanupNode(id, String(options.staleMs))
        // Every live node may clean the same dead one; only the one that took entries says so.
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
  beat()
  const timer = setInterval(beat, options.heartbeatMs)
  timer.unref()

  return {
    publish (event) {
      if (closed) return
      // These are published by the scripts that make the change, in the same step.
      if (event.kind === 'message' || event.kind === 'updated' || event.kind === 'typing') return
      send(event)
    },
    subscribe (listener) {
      listeners.push(listener)
    },
    async presenceAdd (room, user, connectionId) {
      const entry = presenceEntry(room, user, connectionId)
      held.set(entry, { room, user })
      unremoved.delete(entry)
      return await redis.chatPresenceAdd(keys.presence(room), keys.nodePresence(nodeId), user, entry) === 1
    },
    async presenceRemove (room, user, connectionId) {
      // Once closed, close() has uncounted this node's connections and announced the leaves.
      if (closed) return false
      const entry = presenceEntry(room, user, connectionId)
      held.delete(entry)
      try {
        return await redis.chatPresenceRemove(keys.presence(room), keys.nodePresence(nodeId), user, entry) === 1
      } catch (err) {
        unremoved.set(entry, { room, user })
        throw err
      }
    },
    async online (room) {
      const counts = await redis.hgetall(keys.presence(room))
      await options.barrier()
      const users: OnlineUser[] = []
      for (const [user, count] of Object.entries(counts)) {
        const connections = Number(count)
        if (connections > 0) users.push({ user, connections })
      }
      return users
    },
    async presenceClear (room) {
      await redis.del(keys.presence(room))
    },
    typing: (room, user, active, ttlMs) => typing(room, user, active ? 'start' : 'stop', ttlMs),
    expireTyping: (room) => typing(room, '', 'sweep', 0),
    async ready () {
      return !closed && options.subscribed() && await answers(redis)
    },
    async close () {
      if (closed) return
      closed = true
      clearInterval(timer)
      listeners.length = 0
      await tick
      // Connections still counted here (shutdown closes them first, so normally none) leave now.
      let deadline: NodeJS.Timeout | undefined
      await Promise.race([
        cleanupNode(nodeId, '').catch((err: unknown) => log.error({ err, nodeId }, 'removing this node\'s presence failed')),
        new Promise((resolve) => { deadline = setTimeout(resolve, CLOSE_CLEANUP_MS) })
      ])
      clearTimeout(deadline)
      held.clear()
      unremoved.clear()
      await options.onClose()
    }
  }
}
