/**
 * The Redis engine: every node of a deployment runs on one Redis (a single primary, Redis 5 or
 * later) or on a Redis Cluster (CHAT_REDIS_CLUSTER=true, Redis 7 or later) and keeps the same
 * contract. docs/scaling.md is the operator's view of what follows.
 *
 * Keys (keys.ts makes every name). Rooms are spread over PARTITIONS = 256 partitions,
 * p = CRC16(room id) mod 256, and every key of a room carries its partition's hash tag `{p}`
 * (`p<N>` and a few letters, chosen so that partition N sits in slot N × 64 + 32):
 * - `chat:{p}:room:<id>`     hash: name, private ('1'/'0'), historyLimit ('' = CHAT_HISTORY_LIMIT),
 *                            slowModeMs (absent: 0), createdAt, lastSeq
 * - `chat:{p}:msgs:<id>`     sorted set of messages: score = seq, member = the message JSON
 * - `chat:{p}:grants:<id>`   set of users granted the private room
 * - `chat:{p}:presence:<id>` hash: user → number of connections online in the room, over all nodes
 * - `chat:{p}:sent:<id>:<user>:<clientId>` "seq id time" of a message sent with that clientId,
 *                            set by the append script, expiring after CLIENT_ID_TTL_MS (25 h)
 * - `chat:{p}:changes:<id>`  sorted set of changed messages' seqs, scored by the room's lastSeq then
 * - `chat:{p}:<name>:<id>`   each feature's keys of the room (reads, typing, reactions, replies,
 *                            mentions: see each feature's redis.ts), named by RoomScripts.roomKey
 * - `chat:{p}:events:<id>`   the room's channel (a shard channel on a cluster)
 * Per partition, with the same tag:
 * - `chat:{p}:node:<owner>`  set of "room NUL user NUL connectionId": one node's presence in the
 *                            partition's rooms
 * - `chat:{p}:outbox`       stream of the partition's events out (with CHAT_WEBHOOK_URLS), appended by
 *                            the script of each change; `…:hook:<urlKey>:lease`, `…:hook-attempts`,
 *                            `…:hooks-failed(-order)`: its delivery (webhooks.ts)
 * Spanning rooms, each in a slot of its own and never in a script with a room's keys:
 * - `chat:rooms`             sorted set of room ids, all scores 0, listed with ZRANGEBYLEX
 * - `chat:nodes`             sorted set of presence owners scored by their last heartbeat
 *                            (Redis clock, ms); 0 once taken for dead
 * - `chat:user:<user>:rooms` set of the rooms where the user has a read seq (the read state's)
 * - `chat:layout`            "3": the data is in this layout (layout.ts moves the data of earlier ones)
 * - `chat:layout-lock`       the node moving the data to this layout, expiring
 * - `chat:outboxes`          list of the partitions' outbox streams, for direct consumers
 * - `chat:node-events`       the channel of node-level events
 * On a cluster a room's keys, its channel and its partition's keys are in one slot, so every
 * script touches one slot; data that a later feature keeps per room (or per partition, such as
 * an event outbox) takes the same tag and can be written in the same script as the change it
 * belongs to. The tag is the partition, not the room, so that per-partition keys can share a
 * slot with every room of the partition; 256 partitions in evenly spaced slots spread evenly over
 * primaries that hold even slot ranges, and a slot moves (resharding) with its rooms whole.
 *
 * Room scripts (room-scripts.ts): every script that changes a room gets all of the room's keys,
 * the core's and each feature's, and a Lua library shared by the core and the features, with
 * the features' hooks composed in when the engine starts: a feature's step runs inside the
 * core's append or change, in the same script.
 *
 * Seq: append is one script (store.ts) that fails on a missing room, HINCRBY lastSeq,
 * ZADD, trims to the room's history limit and publishes the message event on the room's
 * channel. Seq is therefore per room, gap-free and the same on every node, and a message is on
 * the channel exactly when it is in history. The appends gathered in one event-loop turn go
 * out in one write (pipelined per node on a cluster).
 *
 * Per-room subscriptions (subscriber.ts, room-feeds.ts): a node subscribes to a
 * room's channel when its first member here joins (presenceAdd) and unsubscribes 2 s after its
 * last one left; subscriptions of one turn go out as one command (one per slot on a cluster).
 * A node with no member in a room receives none of its traffic. Node-level events (a presence
 * owner cleaned up) go on the node channel, which every node follows.
 *
 * Exactly once, in order, with no gap: a room's feed reads the room's lastSeq once its channel
 * is subscribed, then tracks the last seq it delivered. A message at or below it is dropped; a
 * jump in seq, a subscription restored after a cut (connection lost, slot moved) and a seq that
 * is slow to arrive are repaired by reading history by score, delivered in order before
 * anything newer. Across a join: the hub registers a joining connection, then reads the room's
 * seq (and, with `since`, the missed messages), holds the live frames that arrive meanwhile and
 * drops those at or below that seq. Those reads return only once the feed has delivered up to
 * the seq read, so nothing counted in it arrives after the join. online() PINGs the subscriber
 * connection that carries the room's channel, so presence already shown in `members` is held
 * too. Appends wait for their room's feed the same way, so a sender gets its message before
 * its ack, as with the local engine.
 *
 * Fan-out: publish() sends every event to the room's channel and nothing locally; each node
 * following the room, this one included, delivers what its subscriber receives, so nothing is
 * delivered twice. Message events are skipped by publish() because the append script has
 * published them.
 *
 * Presence: presenceAdd/Remove are scripts over the room's hash and this node's set of the
 * room's partition, so the first connection (count 1) and the last (count 0, then HDEL) are
 * decided atomically. Every node records a heartbeat every 2 s; a node silent for 8 s is
 * claimed as dead (score 0) by the others, which pop its entries partition by partition,
 * uncount them and publish a presence leave for every user whose count reaches 0. Popping
 * makes concurrent cleaners safe without a lock (each entry is uncounted once); the owner is
 * deregistered once none is left, so a cleaner that dies half-way leaves the rest to the
 * others. A node that was only slow learns at its next heartbeat (or from the node channel)
 * that it was taken for dead and counts its connections back in under a new owner name (with
 * join events), which the cleaners never touch. close() removes what this node still holds.
 *
 * Failure: commands are not retried across a lost connection (an append that may or may not
 * have run must not run twice); they fail and the hub answers `internal`. Commands issued while
 * reconnecting wait for the next attempt only (a cluster fails them at once); a command
 * unanswered for 5 s fails. /readyz is 503 while a connection is down or the node channel's
 * subscription is not in place. Start-up waits up to 5 s for Redis, then goes on unready and
 * keeps retrying; a server that does not fit the layout (a cluster node without
 * CHAT_REDIS_CLUSTER, a cluster below Redis 7) refuses the start.
 *
 * Older data: a Redis that holds data of an earlier key layout (layout "2", 128 unevenly spread
 * partitions; or the single-channel layout, with no `chat:layout`) has it moved to this one at
 * start-up, once, by one node while the others wait (layout.ts).
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { Cluster, Redis } from 'ioredis'
import { createRedisBroker, type EngineLog } from './broker.ts'
import { checkServer, type RedisClient, serverConnection, type ServerTarget, shutdown, clusterClient } from './connection.ts'
import { globalKeys } from './keys.ts'
import { bringToLayout } from './layout.ts'
import { defineScripts } from './scripts.ts'
import { createRedisStore } from './store.ts'
import { createSubscriber, type SubscriberHandlers, type SubscriberTarget } from './subscriber.ts'
import { createRedisWebhooks } from './webhooks.ts'
import { EventKinds } from '../events.ts'
import { portOf } from '../shared/ports.ts'
import type { StorageExtension } from '../extension.ts'
import type { ChatEngine, ChatStore, EngineStats, OutboxOptions, RoomEvent, WebhookStore } from '../types.ts'
import type { FeedHistory } from './feed-history.ts'
import type { RoomFeeds } from './room-feeds.ts'
import { eventIdFor } from './outbox.ts'
import { RoomScripts } from './room-scripts.ts'
import type { RedisStorage } from './storage.ts'

export type { EngineLog } from './broker.ts'

export interface RedisEngineOptions {
  /** REDIS_URL: the server, or a node of a cluster; with Sentinel, only its credentials count. */
  url?: string
  /** REDIS_URL names a node of a Redis Cluster (CHAT_REDIS_CLUSTER). */
  cluster?: boolean
  /** REDIS_SENTINELS and REDIS_SENTINEL_NAME: the primary is the one these sentinels name. */
  sentinel?: { sentinels: { host: string, port: number }[], name: string }
  /** CHAT_REDIS_ACK_REPLICAS: a message is acknowledged once this many replicas hold it (WAIT). */
  ackReplicas?: number
  defaultHistoryLimit: number
  log: EngineLog
  /** Unique per process; defaults to host, pid and a random suffix. */
  nodeId?: string
  heartbeatMs?: number
  staleMs?: number
  /** How long a room stays subscribed after its last member here left. */
  lingerMs?: number
  /** How long start-up waits for Redis before going on unready. */
  connectTimeoutMs?: number
  /** How long a clientId is remembered (CLIENT_ID_TTL_MS; shorter only in tests). */
  clientIdTtlMs?: number
  /** Event types to record in the partitions' outbox streams (CHAT_WEBHOOK_URLS set); none when absent. */
  outbox?: OutboxOptions
  /** The features' storage, built while the engine starts. */
  extensions?: StorageExtension[]
  /**
   * History in a database (PostgreSQL): its store, webhooks and features' ports replace Redis's
   * own, and Redis carries events, presence and typing between nodes.
   */
  database?: RedisDatabase
}

/** What a database engine gives the Redis engine when Redis only carries events between nodes. */
export interface RedisDatabase {
  /** Where the rooms' feeds read gaps. */
  history: FeedHistory
  /** Records the leave of a user whose node died (presence.leave), found by this node's cleanup. */
  onDeadLeave?: (room: string, user: string, time: string) => void
  /**
   * Opens the database's side once the broker exists: `publish` sends an event to every node,
   * `feeds` tells when this node has delivered a seq, `storage` is Redis for the features that
   * keep short-lived state there (typing). Resolves the store, its webhooks and the features' ports.
   */
  open (context: { publish: (event: RoomEvent) => void, feeds: RoomFeeds, storage: RedisStorage }): Promise<{
    store: ChatStore
    webhooks: WebhookStore
    ports: Map<StorageExtension, unknown>
  }>
}

const HEARTBEAT_MS = 2000
const STALE_MS = 8000
const CONNECT_TIMEOUT_MS = 5000

/** Resolves true once the client is ready, false after `ms`. */
function readyWithin (redis: RedisClient, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true)
  return new Promise((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(timer)
      redis.off('ready', onReady)
      resolve(value)
    }
    const onReady = () => done(true)
    const timer = setTimeout(() => done(false), ms)
    redis.on('ready', onReady)
  })
}

/**
 * The server behind a cluster URL, checked over a plain connection before the cluster client
 * exists: a server that is not a cluster node would otherwise only show as a cluster that never
 * becomes ready. Unreachable: nothing to check yet.
 */
async function probeClusterSeed (url: string, ms: number): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: ms, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => {})
  try {
    await probe.connect()
  } catch {
    probe.disconnect()
    return
  }
  try {
    await checkServer(probe, true)
  } finally {
    probe.disconnect()
  }
}

/** All primaries fit the layout (a cluster: each one, as a mixed cluster would half work). */
async function checkServers (redis: RedisClient, cluster: boolean, outbox: boolean): Promise<void> {
  const servers = redis instanceof Redis ? [redis] : redis.nodes('master')
  for (const server of servers) await checkServer(server, cluster, outbox)
}

/**
 * Connects, subscribes to the node channel and returns the engine. Waits for Redis for up to
 * `connectTimeoutMs` so that a node ready at start-up delivers every event and refuses a server
 * that does not fit; when Redis is not there yet, the engine starts anyway, unready, and checks
 * and catches up once it is.
 */
export async function createRedisEngine (options: RedisEngineOptions): Promise<ChatEngine> {
  const { log } = options
  const url = options.url ?? ''
  const cluster = options.cluster === true
  const waitMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS
  const nodeId = options.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`
  const name = `chat:${nodeId}`
  const startedAt = Date.now()
  if (cluster) await probeClusterSeed(url, waitMs)

  const server: ServerTarget = options.sentinel === undefined ? url : { ...options.sentinel, url: options.url }
  const redis: RedisClient = cluster ? clusterClient(url, name, log) : serverConnection(server, name, log)
  defineScripts(redis)
  const publish = cluster ? 'spublish' : 'publish'
  const scripts = new RoomScripts()
  const events = new EventKinds()
  let route: SubscriberHandlers | undefined
  const target: SubscriberTarget = redis instanceof Cluster ? { kind: 'cluster', url, cluster: redis } : { kind: 'single', server }
  const subscriber = createSubscriber(target, {
    message: (channel, text) => route?.message(channel, text),
    restored: (channels) => route?.restored(channels)
  }, name, log)

  // Checked and brought to this layout on the first connection, before the engine is ready.
  let prepared = false
  let preparing: Promise<void> | undefined
  const prepare = (): Promise<void> => {
    preparing ??= (async () => {
      await checkServers(redis, cluster, options.outbox !== undefined)
      await bringToLayout({ redis, cluster, nodeId, roomKeyNames: scripts.roomKeyNames(), log })
      prepared = true
    })().catch((err: unknown) => {
      preparing = undefined
      throw err
    })
    return preparing
  }
  const onReady = () => {
    if (!prepared) prepare().catch((err: unknown) => log.error({ err }, 'Redis is not usable by this engine'))
  }

  let open = 2
  const release = async () => {
    if (--open > 0) return
    redis.off('ready', onReady)
    broker.feeds.close()
    await subscriber.close()
    await shutdown(redis)
  }
  const broker = createRedisBroker({
    redis,
    subscriber,
    publish,
    defaultHistoryLimit: options.defaultHistoryLimit,
    events,
    nodeId,
    log,
    heartbeatMs: options.heartbeatMs ?? HEARTBEAT_MS,
    staleMs: options.staleMs ?? STALE_MS,
    lingerMs: options.lingerMs,
    onClose: release,
    outbox: options.database === undefined ? options.outbox : undefined,
    history: options.database?.history,
    onDeadLeave: options.database?.onDeadLeave
  })
  route = broker.handlers
  const storage: RedisStorage = {
    redis,
    roomKey: (keyName) => scripts.roomKey(keyName),
    roomScript: (scriptName, lua, scriptOptions) => scripts.script(scriptName, lua, scriptOptions),
    onAppend: (feature, hook) => scripts.onAppend(feature, hook),
    onChange: (lua) => scripts.onChange(lua),
    onTrim: (lua) => scripts.onTrim(lua),
    eventId: (type) => eventIdFor(options.outbox, type)
  }
  if (options.database !== undefined) {
    let opened: Awaited<ReturnType<RedisDatabase['open']>>
    try {
      opened = await options.database.open({ publish: (event) => broker.publish(event), feeds: broker.feeds, storage })
    } catch (err) {
      await broker.close()
      await release()
      throw err
    }
    scripts.define(redis, publish, options.defaultHistoryLimit)
    const databaseStore = opened.store
    return await started({
      name: 'postgres',
      store: { ...databaseStore, close: async () => { await databaseStore.close(); await release() } },
      broker,
      storagePublishes: true,
      unboundedHistory: true,
      events,
      port: portOf(opened.ports),
      webhooks: opened.webhooks,
      stats: statsOf(broker.feeds)
    })
  }
  const store = createRedisStore({
    redis,
    scripts,
    defaultHistoryLimit: options.defaultHistoryLimit,
    feeds: broker.feeds,
    log,
    onClose: release,
    clientIdTtlMs: options.clientIdTtlMs,
    outbox: options.outbox,
    ackReplicas: options.ackReplicas
  })
  // The features' storage adds its keys, hooks and scripts; then every room script is put together.
  const ports = new Map<StorageExtension, unknown>()
  for (const extension of options.extensions ?? []) ports.set(extension, extension.redis(storage))
  scripts.define(redis, publish, options.defaultHistoryLimit)
  return await started({
    name: 'redis',
    store,
    broker,
    storagePublishes: true,
    unboundedHistory: false,
    events,
    port: portOf(ports),
    webhooks: createRedisWebhooks({ redis, log, nodeId, staleMs: options.staleMs ?? STALE_MS }),
    stats: statsOf(broker.feeds)
  })

  /** Waits for Redis (up to waitMs), checks it and subscribes, and hands the engine over. */
  async function started (engine: ChatEngine): Promise<ChatEngine> {
    const { store } = engine
    const storeReady = store.ready
    store.ready = async () => prepared && await storeReady()
    if (await readyWithin(redis, waitMs)) {
      try {
        await prepare()
      } catch (err) {
        await broker.close()
        await store.close()
        throw err
      }
      const subscribed = await Promise.race([
        subscriber.subscribe(globalKeys.nodeChannel).then(() => true, () => false),
        new Promise<false>((resolve) => setTimeout(resolve, Math.max(0, waitMs - (Date.now() - startedAt)), false).unref())
      ])
      if (!subscribed) log.error({ nodeId }, 'subscribing to Redis is not done yet; starting unready and retrying')
    } else {
      log.error({ nodeId }, 'Redis is not reachable yet; starting unready and retrying')
    }
    redis.on('ready', onReady)
    return engine
  }
}

function statsOf (feeds: RoomFeeds): () => EngineStats {
  return () => ({
    roomsFollowed: feeds.rooms(),
    gapRepairs: feeds.stats.repairs,
    repairedMessages: feeds.stats.repaired,
    seqRaises: feeds.stats.seqRaises,
    lostSeqs: feeds.stats.lostSeqs
  })
}
