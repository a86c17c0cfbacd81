/**
 * The Redis engine: every node of a deployment runs on one Redis (a single primary; not Redis
 * Cluster, whose pub/sub and multi-key scripts work differently) and keeps the same contract.
 *
 * Keys (all under `chat:`):
 * - `room:{id}`       hash: name, private ('1'/'0'), historyLimit ('' = CHAT_HISTORY_LIMIT),
 *                     createdAt, lastSeq
 * - `rooms`           sorted set of room ids, all scores 0, listed with ZRANGEBYLEX after a cursor
 * - `grants:{room}`   set of users granted the private room
 * - `msgs:{room}`     sorted set of messages: score = seq, member = the message JSON
 * - `sent:{room}:{user}:{clientId}` "seq id time" of a message sent with that clientId, set by
 *                     the append script and expiring after CLIENT_ID_TTL_MS (25 h)
 * - `presence:{room}` hash: user → number of connections online in the room, over all nodes
 * - `node:{id}:presence` set of "room NUL user NUL connectionId", one node's share of presence
 * - `nodes`           sorted set of node ids scored by their last heartbeat (Redis clock, ms)
 * - `events`          the pub/sub channel every node publishes RoomEvents on and listens to
 *
 * Seq: append is one script (redis-scripts.ts) that fails on a missing room, HINCRBY lastSeq,
 * ZADD, trims to the room's history limit and PUBLISHes the message event. Seq is therefore
 * per room, gap-free and the same on every node, and a message is on the channel exactly when
 * it is in history. Appends issued in one event-loop turn share one pipeline.
 *
 * Exactly-once across a join: the hub registers a joining connection, then reads the room's
 * seq (and, with `since`, the missed messages), holds the live frames that arrive meanwhile and
 * drops those at or below that seq. Live frames come over the subscriber connection, the read
 * over the command connection, so after each such read the store PINGs the subscriber
 * connection: the PONG comes after every event Redis had already queued for it, so every
 * message counted in the seq just read has reached the hub (and been held) before the read
 * returns. online() does the same, so presence already shown in `members` is held too (and
 * dropped by the hub). Appends wait for the same barrier, so a sender gets its message before
 * its ack, as with the local engine.
 *
 * Fan-out: publish() sends every event to the channel and nothing locally; each node, this one
 * included, delivers what the subscriber receives, so nothing is delivered twice. Message
 * events are skipped by publish() because the append script has published them.
 *
 * Presence: presenceAdd/Remove are scripts over the room's hash and this node's set, so the
 * first connection (count 1) and the last (count 0, then HDEL) are decided atomically. Every
 * node records a heartbeat every 2 s and removes nodes silent for 8 s: a script pops a dead
 * node's entries in chunks, uncounts them and publishes a presence leave for every user whose
 * count reaches 0. Popping makes concurrent cleaners safe without a lock (each entry is
 * uncounted once), and a node that was only slow and heartbeats again stops the cleanup and
 * counts its connections back in (with join events). A dead node's users have left within
 * about 10 s. close() uncounts what this node still holds and deregisters it.
 *
 * Failure: commands are not retried across a lost connection (an append that may or may not
 * have run must not run twice); they fail and the hub answers `internal`. Commands issued while
 * reconnecting wait for the next attempt only; a command unanswered for 5 s fails. /readyz is
 * 503 while either connection is down or the subscription is not in place. Start-up waits up
 * to 5 s for Redis, then goes on unready and keeps retrying.
 * Events published while this node's subscriber was disconnected are not delivered here; a
 * client notices the gap in seq and rejoins with `since`.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { Redis, type RedisOptions } from 'ioredis'
import { createRedisBroker, type EngineLog } from './redis-broker.ts'
import { defineScripts, redisKeys } from './redis-scripts.ts'
import { createRedisStore } from './redis-store.ts'
import type { ChatEngine } from './types.ts'

export type { EngineLog } from './redis-broker.ts'

export interface RedisEngineOptions {
  url: string
  defaultHistoryLimit: number
  log: EngineLog
  /** Unique per process; defaults to host, pid and a random suffix. */
  nodeId?: string
  heartbeatMs?: number
  staleMs?: number
  /** How long start-up waits for Redis before going on unready. */
  connectTimeoutMs?: number
  /** How long a clientId is remembered (CLIENT_ID_TTL_MS; shorter only in tests). */
  clientIdTtlMs?: number
}

const HEARTBEAT_MS = 2000
const STALE_MS = 8000
/** A command not answered within this is failed (a frozen Redis must not hang requests). */
const COMMAND_TIMEOUT_MS = 5000
const CONNECT_TIMEOUT_MS = 5000

function connection (url: string, name: string, log: EngineLog): Redis {
  const options: RedisOptions = {
    connectionName: name,
    // Fail what was in flight when a connection drops instead of sending it again.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    commandTimeout: COMMAND_TIMEOUT_MS
  }
  const redis = new Redis(url, options)
  let down = false
  redis.on('error', (err: Error) => {
    // ioredis retries every second while Redis is away; one line per outage is enough.
    if (!down) log.error({ err, connection: name }, 'Redis connection error')
    down = true
  })
  redis.on('ready', () => {
    if (down) log.info({ connection: name }, 'Redis connection restored')
    down = false
  })
  return redis
}

async function shutdown (redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit()
      return
    } catch {
      // fall through: cut the connection
    }
  }
  redis.disconnect()
}

/**
 * Connects, subscribes to the event channel and returns the engine. Waits for the subscription
 * for up to `connectTimeoutMs` so that a node ready at start-up delivers every event; when
 * Redis is not there yet, the engine starts anyway, unready, and catches up once it is.
 */
export async function createRedisEngine (options: RedisEngineOptions): Promise<ChatEngine> {
  const { log } = options
  const nodeId = options.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`
  const redis = connection(options.url, `chat:${nodeId}`, log)
  const sub = connection(options.url, `chat:${nodeId}:events`, log)
  defineScripts(redis)

  // Subscribing on every (re)connection rather than with ioredis' autoResubscribe also covers a
  // first subscription that failed because Redis was not up yet.
  let subscribed = false
  let subscribedOnce = false
  let firstSubscription: () => void = () => {}
  const subscribing = new Promise<void>((resolve) => { firstSubscription = resolve })
  sub.on('ready', () => {
    sub.subscribe(redisKeys.channel).then(() => {
      if (subscribedOnce) log.warn({ nodeId }, 'event subscription resumed; events published meanwhile were not delivered here')
      subscribed = subscribedOnce = true
      firstSubscription()
    }, (err: unknown) => log.error({ err }, 'subscribing to room events failed'))
  })
  sub.on('close', () => { subscribed = false })

  const barrier = async () => {
    if (sub.status !== 'ready') return
    await sub.ping().catch(() => {})
  }

  let open = 2
  const release = async () => {
    if (--open > 0) return
    await Promise.all([shutdown(redis), shutdown(sub)])
  }

  const engine: ChatEngine = {
    name: 'redis',
    store: createRedisStore({
      redis, defaultHistoryLimit: options.defaultHistoryLimit, barrier, onClose: release, clientIdTtlMs: options.clientIdTtlMs
    }),
    broker: createRedisBroker({
      redis,
      sub,
      nodeId,
      log,
      barrier,
      subscribed: () => subscribed,
      heartbeatMs: options.heartbeatMs ?? HEARTBEAT_MS,
      staleMs: options.staleMs ?? STALE_MS,
      onClose: release
    })
  }
  let timer: NodeJS.Timeout | undefined
  const waited = await Promise.race([
    subscribing.then(() => true),
    new Promise<false>((resolve) => { timer = setTimeout(resolve, options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS, false) })
  ])
  clearTimeout(timer)
  if (!waited) log.error({ nodeId }, 'Redis is not reachable yet; starting unready and retrying')
  return engine
}
