import { Cluster, Redis } from 'ioredis'
import { clusterClient, type EngineLog, type RedisClient, serverConnection, shutdown } from '../../engine/redis/connection.ts'
import { globalKeys, PARTITIONS, partitionKeys, roomKeys } from '../../engine/redis/keys.ts'
import { LAYOUT } from '../../engine/redis/layout.ts'
import { roomPages } from '../../engine/redis/room-list.ts'
import { type Chunk, MoveError, type MoveSource, reason, redact } from './source.ts'
import type { RedisRoom, Row, TableCopy } from './tables.ts'

/** Rooms read at once (each with all its keys). */
const ROOMS_AT_ONCE = 50
const CONNECT_MS = 5000
const CLUSTER_READY_MS = 10_000

/** The connections' log: silent, keeping the last error to say why a command failed. */
function errorKeeper (): EngineLog & { last?: Error } {
  const log: EngineLog & { last?: Error } = {
    error: (obj) => { if ((obj as { err?: unknown }).err instanceof Error) log.last = (obj as { err: Error }).err },
    warn: () => {},
    info: () => {},
    debug: () => {}
  }
  return log
}

/** Whether the server is a node of a Redis Cluster, asked over a connection of one attempt (an unreachable server fails at once). */
async function isClusterNode (url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: CONNECT_MS, maxRetriesPerRequest: 0, retryStrategy: () => null })
  let failure: Error | undefined
  probe.on('error', (err: Error) => { failure ??= err })
  try {
    await probe.connect()
    return /^cluster_enabled:1\s*$/m.test(await probe.info('cluster'))
  } catch (err) {
    // "Connection is closed" says less than the error that closed it (ECONNREFUSED, a DNS failure, a refused password…).
    throw failure ?? err
  } finally {
    probe.disconnect()
  }
}

/** Resolves once the client is ready; false after `ms`. */
function ready (redis: RedisClient, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => { redis.off('ready', onReady); resolve(false) }, ms)
    const onReady = () => { clearTimeout(timer); resolve(true) }
    redis.once('ready', onReady)
  })
}

/**
 * A Redis deployment as a source: a single Redis, or a Redis Cluster (found out from the server
 * named by the URL). Rooms are listed from `chat:rooms` and each is read from its keys
 * (engine/redis/keys.ts); the rows that span rooms (clientIds, the report queue) come after.
 * The data must be in this release's key layout.
 */
export async function openRedisSource (url: string): Promise<MoveSource> {
  const where = redact(url)
  let cluster: boolean
  try {
    cluster = await isClusterNode(url)
  } catch (err) {
    throw new MoveError(`cannot reach Redis at ${where}: ${reason(err)}`)
  }
  const log = errorKeeper()
  const redis: RedisClient = cluster ? clusterClient(url, 'chat-move-to-postgres', log) : serverConnection(url, 'chat-move-to-postgres', log)
  const fail = async (what: string, err?: unknown): Promise<never> => {
    await shutdown(redis)
    throw new MoveError(`${what} (Redis${cluster ? ' Cluster' : ''} at ${where})${err === undefined ? '' : `: ${reason(log.last ?? err)}`}`)
  }
  if (!await ready(redis, cluster ? CLUSTER_READY_MS : CONNECT_MS)) await fail('Redis did not become ready', log.last)
  const primaries = (): Redis[] => redis instanceof Cluster ? redis.nodes('master') : [redis]

  let rooms: number
  try {
    const layout = await redis.get(globalKeys.layout)
    rooms = await redis.zcard(globalKeys.rooms)
    if (layout === null && rooms === 0) await fail('Redis holds no chat data (no chat:layout, no rooms in chat:rooms)')
    if (layout !== LAYOUT) {
      await fail(layout === null || Number(layout) < Number(LAYOUT)
        ? `Redis holds chat data in an older key layout (${layout ?? 'before layouts'}); start this release on it once (it moves the keys at start-up), stop it, then move it`
        : `Redis holds chat data in key layout ${layout}, newer than this release's (${LAYOUT}): run a newer release`)
    }
  } catch (err) {
    if (err instanceof MoveError) throw err
    return await fail('cannot read Redis', err)
  }

  /** Every table's rows of one room, or undefined when the room is gone (its hash missing). */
  async function readRoom (id: string, tables: readonly TableCopy[]): Promise<Chunk[] | undefined> {
    const hash = await redis.hgetall(roomKeys(id).room)
    if (hash.createdAt === undefined) return undefined
    const room: RedisRoom = { id, hash, redis }
    const rows = await Promise.all(tables.map((table) => table.redisRoom?.(room) ?? Promise.resolve([] as Row[])))
    return tables.map((table, i) => ({ table, rows: rows[i]! })).filter((chunk) => chunk.rows.length > 0)
  }

  return {
    description: `Redis${cluster ? ' Cluster' : ''} at ${where} (${rooms} rooms listed)`,
    async * chunks (tables): AsyncIterable<Chunk> {
      const copied = new Set<string>()
      try {
        for await (const ids of roomPages(redis, ROOMS_AT_ONCE)) {
          const read = await Promise.all(ids.map((id) => readRoom(id, tables)))
          for (let i = 0; i < ids.length; i++) {
            if (read[i] === undefined) continue
            copied.add(ids[i]!)
            yield * read[i]!
          }
        }
        for (const table of tables) {
          if (table.redisGlobal === undefined) continue
          for await (const rows of table.redisGlobal({ redis, primaries: primaries(), rooms: copied })) yield { table, rows }
        }
      } catch (err) {
        if (err instanceof MoveError) throw err
        throw new MoveError(`reading Redis${cluster ? ' Cluster' : ''} at ${where} failed: ${reason(log.last ?? err)}`)
      }
    },
    highWater: () => 0,
    async notes () {
      // Each partition's outbox stream holds the events some URL has not finished (finished ones are trimmed, within a second).
      const lengths = await Promise.all(Array.from({ length: PARTITIONS }, async (_v, partition) => {
        const keys = partitionKeys(partition)
        const [events, parked] = await Promise.all([redis.xlen(keys.outbox), redis.hlen(keys.hooksFailed)])
        return { events, parked }
      }))
      const events = lengths.reduce((sum, entry) => sum + entry.events, 0)
      const parked = lengths.reduce((sum, entry) => sum + entry.parked, 0)
      const notes: string[] = []
      if (events > 0) notes.push(`${events} webhook event(s) in the Redis outbox streams are not moved (some may be delivered already, trimmed within a second): let the service on Redis deliver them (chat_webhook_pending 0) before stopping it`)
      if (parked > 0) notes.push(`${parked} parked webhook event(s) on Redis are not moved (GET /webhooks/failed lists them there)`)
      return notes
    },
    async close () {
      await shutdown(redis)
    }
  }
}
