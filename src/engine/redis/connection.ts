import { setTimeout as sleep } from 'node:timers/promises'
import calculateSlot from 'cluster-key-slot'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { EngineLog } from '../../shared/log.ts'
import { OutcomeUnknown } from '../types.ts'

export type { EngineLog }

/** The command client: one connection to a single Redis, or one per node of a cluster. */
export type RedisClient = Redis | Cluster

/** A command unanswered for this long fails (a frozen Redis must not hang requests). */
export const COMMAND_TIMEOUT_MS = 5000

/**
 * Options of every connection to one Redis server. Commands are never sent twice: a command
 * in flight when its connection drops may have run (an append must not run again), so it
 * fails instead, and one issued while reconnecting waits for the next attempt only.
 */
function serverOptions (name: string): RedisOptions {
  return {
    connectionName: name,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    autoResubscribe: false,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    commandTimeout: COMMAND_TIMEOUT_MS
  }
}

/** Host, port and credentials of a redis:// or rediss:// URL, for connections made by address. */
export function addressOf (url: string): { host: string, port: number, credentials: RedisOptions } {
  const parsed = new URL(url)
  const credentials: RedisOptions = {}
  if (parsed.username !== '') credentials.username = decodeURIComponent(parsed.username)
  if (parsed.password !== '') credentials.password = decodeURIComponent(parsed.password)
  if (parsed.protocol === 'rediss:') credentials.tls = {}
  return { host: parsed.hostname, port: parsed.port === '' ? 6379 : Number(parsed.port), credentials }
}

/** Logs the first error of an outage and its end, not every retry. */
function logOutages (emitter: Redis | Cluster, name: string, log: EngineLog): void {
  let down = false
  const failed = (err: Error) => {
    if (!down) log.error({ err, connection: name }, 'Redis connection error')
    down = true
  }
  emitter.on('error', failed)
  emitter.on('node error', failed)
  emitter.on('ready', () => {
    if (down) log.info({ connection: name }, 'Redis connection restored')
    down = false
  })
}

/** A primary found through Redis Sentinel: the sentinels to ask, the name they monitor it under, and the primary's credentials. */
export interface SentinelTarget {
  sentinels: { host: string, port: number }[]
  name: string
  /** REDIS_URL, when given, for the primary's credentials and TLS. */
  url?: string
}

/** Where a connection to one server goes: a URL, an address (a cluster node), or Sentinel's primary. */
export type ServerTarget = string | { host: string, port: number, credentials: RedisOptions } | SentinelTarget

/**
 * A connection to one server: the command connection of a single Redis, or a subscriber. Each
 * command is written as it is issued; a batch goes out in one write through inOneWrite.
 *
 * With Sentinel, the connection asks the sentinels for the primary each time it connects. A
 * failover closes it: the dead primary's socket, or the sentinels' CLIENT KILL when they demote
 * a primary that comes back; a write answered READONLY (a demoted primary) reconnects too.
 * ioredis' `failoverDetector` (reconnect on +switch-master) is left off: its disconnect, when it
 * lands while the connection is between attempts, ends the connection for good (seen in
 * test/faults/sentinel.test.ts: the subscriber stayed down).
 */
export function serverConnection (target: ServerTarget, name: string, log: EngineLog): Redis {
  const options = serverOptions(name)
  let redis: Redis
  if (typeof target === 'string') {
    redis = new Redis(target, options)
  } else if ('sentinels' in target) {
    const credentials = target.url === undefined ? {} : addressOf(target.url).credentials
    redis = new Redis({
      sentinels: target.sentinels,
      name: target.name,
      role: 'master',
      reconnectOnError: (err) => err.message.startsWith('READONLY') ? 1 : false,
      ...credentials,
      ...options
    })
  } else {
    redis = new Redis({ host: target.host, port: target.port, ...target.credentials, ...options })
  }
  logOutages(redis, name, log)
  return redis
}

/**
 * The command client of a cluster. Besides the per-node options above: no offline queue (a
 * command while the cluster is unreachable fails at once rather than waiting unbounded), no
 * re-sending after a closed connection (retryDelayOnFailover 0; MOVED, ASK and TRYAGAIN are
 * still followed, as those commands did not run), and commands of one event-loop turn are
 * pipelined per node (cluster pipelines may not span nodes).
 */
export function clusterClient (url: string, name: string, log: EngineLog): Cluster {
  const { host, port, credentials } = addressOf(url)
  const cluster = new Cluster([{ host, port }], {
    redisOptions: { ...credentials, ...serverOptions(name) },
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    retryDelayOnFailover: 0,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    slotsRefreshInterval: 2000
  })
  logOutages(cluster, name, log)
  return cluster
}

/**
 * The connection to the primary that holds `key` (the one Redis, or its slot's owner on a
 * cluster as the client last saw the slots). For commands whose key is not their first
 * argument (XGROUP, XINFO): the cluster client's auto-pipelining routes by the first argument.
 */
export function primaryOf (redis: RedisClient, key: string): Redis | undefined {
  if (redis instanceof Redis) return redis
  const owner = redis.slots[calculateSlot(key)]?.[0]
  return redis.nodes('master').find((node) => `${node.options.host ?? ''}:${node.options.port ?? ''}` === owner)
}

/**
 * Issues a batch of commands (those `issue` sends synchronously) in one write to a single
 * Redis: its socket is corked while they are issued. Written by hand because ioredis's
 * auto-pipelining, which does this per event-loop turn, builds a Pipeline object each turn and
 * copies every defined script onto it (this engine defines about thirty): measured at some
 * 20 µs a turn, most turns carrying one command, and it holds every command until the next
 * turn. On a cluster, whose client pipelines per node (a pipeline may not span nodes), it
 * only runs `issue`.
 */
export function inOneWrite<T> (redis: RedisClient, issue: () => T): T {
  const stream = redis instanceof Redis && redis.status === 'ready' ? redis.stream : undefined
  stream?.cork()
  try {
    return issue()
  } finally {
    stream?.uncork()
  }
}

/** Quits politely when connected, else cuts the connection. */
export async function shutdown (redis: RedisClient): Promise<void> {
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

/** Whether the server answers a PING within `timeoutMs`. */
async function pings (redis: Redis, timeoutMs: number): Promise<boolean> {
  const controller = new AbortController()
  try {
    const reply = await Promise.race([
      redis.ping(),
      sleep(timeoutMs, 'timeout', { signal: controller.signal, ref: false })
    ])
    return reply === 'PONG'
  } catch {
    return false
  } finally {
    controller.abort()
  }
}

/** Whether Redis (every primary of a cluster) answers a PING within `timeoutMs` (for /readyz). */
export async function answers (redis: RedisClient, timeoutMs = 2000): Promise<boolean> {
  if (redis.status !== 'ready') return false
  if (!(redis instanceof Cluster)) return await pings(redis, timeoutMs)
  const primaries = redis.nodes('master')
  if (primaries.length === 0) return false
  return (await Promise.all(primaries.map((node) => pings(node, timeoutMs)))).every(Boolean)
}

/** A start-up refusal: the process reports it and exits. */
export class RedisSetupError extends Error {
  override name = 'RedisSetupError'
}

const field = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim()

/**
 * Checks that a server fits the configured layout: a single Redis 5 or later, or a node of a
 * cluster running Redis 7 or later (sharded pub/sub); with webhooks, 6.2 or later. Throws RedisSetupError naming the
 * setting to change. INFO without arguments (its default sections hold both fields) works on
 * every version.
 */
export async function checkServer (server: Redis, cluster: boolean, outbox = false): Promise<void> {
  const info = await server.info()
  const version = field(info, 'redis_version') ?? '0'
  const major = Number(version.split('.')[0])
  const clustered = field(info, 'cluster_enabled') === '1'
  const where = `${server.options.host ?? '?'}:${server.options.port ?? '?'}`
  if (!cluster && clustered) {
    throw new RedisSetupError(`REDIS_URL points at a node of a Redis Cluster (${where}); set CHAT_REDIS_CLUSTER=true`)
  }
  if (cluster && !clustered) {
    throw new RedisSetupError(`CHAT_REDIS_CLUSTER=true but ${where} is not a Redis Cluster node; unset CHAT_REDIS_CLUSTER for a single Redis`)
  }
  if (cluster && major < 7) {
    throw new RedisSetupError(`CHAT_REDIS_CLUSTER=true needs Redis 7 or later on every primary (sharded pub/sub); ${where} runs ${version}`)
  }
  if (major < 5) throw new RedisSetupError(`the Redis engine needs Redis 5 or later; ${where} runs ${version}`)
  const minor = Number(version.split('.')[1] ?? 0)
  if (outbox && (major < 6 || (major === 6 && minor < 2))) {
    throw new RedisSetupError(`CHAT_WEBHOOK_URLS on Redis needs Redis 6.2 or later (stream trimming by id); ${where} runs ${version}`)
  }
}

/**
 * What a failed command says of its outcome. A timeout, or a connection lost while the command
 * was in flight, leaves it unknown (the command may still run, or have run: a frozen Redis runs
 * it when it wakes); any other failure (refused before it was sent, a script error) is definite.
 */
export function failure (err: Error): Error {
  return /Command timed out|Connection is closed/.test(err.message) ? new OutcomeUnknown(err) : err
}
