import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import type { EngineLog } from './broker.ts'
import { primaryOf, type RedisClient } from './connection.ts'
import { globalKeys, layout2, legacyKeys, PARTITIONS, partitionKeys, partitionOf, roomKey, roomKeys } from './keys.ts'

/**
 * The key layout of the data a Redis holds (`chat:layout`), and the moves from the earlier ones:
 * - none: the single-channel layout (`chat:room:<id>` …), moved room by room (single Redis only);
 * - "2": 128 partitions tagged `{p0}` … `{p127}`, whose slots fall unevenly on a cluster's
 *   primaries; every key is moved to the partition of the same room in this layout;
 * - "3": this one, 256 partitions whose tags sit in evenly spaced slots (keys.ts).
 * One node moves the data, under a lock; the others wait for the layout to be marked. A layout
 * newer than this one is refused: an older node would write where the data no longer is.
 */
export const LAYOUT = '3'

/** How long the moving node's lock lasts unless renewed (a node that dies mid-move lets another go on). */
const LOCK_MS = 30_000
const WAIT_STEP_MS = 250
const SCAN_COUNT = 1000
const BATCH = 500

export interface LayoutOptions {
  redis: RedisClient
  cluster: boolean
  nodeId: string
  /** The names of every room key kind, the core's and the features' (not the partition's outbox). */
  roomKeyNames: readonly string[]
  log: EngineLog
}

/** Brings the data to LAYOUT, or waits while another node does; then lists the outbox streams for direct consumers. */
export async function bringToLayout (options: LayoutOptions): Promise<void> {
  const { redis, nodeId } = options
  for (;;) {
    const layout = await redis.get(globalKeys.layout)
    if (layout === LAYOUT) break
    if (layout !== null && layout !== '2') {
      throw new Error(`Redis holds chat data in key layout ${layout}, which this version (layout ${LAYOUT}) does not know: run a newer version`)
    }
    if (await redis.set(globalKeys.layoutLock, nodeId, 'PX', LOCK_MS, 'NX') !== 'OK') {
      await sleep(WAIT_STEP_MS)
      continue
    }
    try {
      if (layout === null) await moveLegacyLayout(options)
      else await moveLayout2(options)
      await redis.set(globalKeys.layout, LAYOUT)
    } finally {
      if (await redis.get(globalKeys.layoutLock) === nodeId) await redis.del(globalKeys.layoutLock)
    }
  }
  await listOutboxes(redis)
}

/** `chat:outboxes`: the outbox streams' names, so that a direct consumer reads them without knowing the tags. */
async function listOutboxes (redis: RedisClient): Promise<void> {
  const names = Array.from({ length: PARTITIONS }, (_v, partition) => partitionKeys(partition).outbox)
  const listed = await redis.lrange(globalKeys.outboxes, 0, -1)
  if (listed.length === names.length && listed.every((name, i) => name === names[i])) return
  await redis.multi().del(globalKeys.outboxes).rpush(globalKeys.outboxes, ...names).exec()
}

/** Moves rooms of the single-channel layout to their partitions' keys. */
async function moveLegacyLayout ({ redis, cluster, log }: LayoutOptions): Promise<void> {
  // A cluster never ran the single-channel layout (its keys could not share a slot).
  if (cluster) return
  let moved = 0
  for await (const ids of roomIds(redis)) {
    for (const id of ids) {
      const keys = roomKeys(id)
      moved += await redis.chatMoveLegacyRoom(legacyKeys.room(id), legacyKeys.messages(id), legacyKeys.grants(id),
        legacyKeys.presence(id), keys.room, keys.messages, keys.grants)
    }
  }
  // Presence of nodes that ran the old layout (they are deregistered by the dead-node cleanup).
  for await (const keys of scanKeys(redis, legacyKeys.nodePresence('*'))) await redis.del(...keys)
  if (moved > 0) log.info({ moved }, 'rooms moved to the partitioned key layout')
}

async function * roomIds (redis: RedisClient): AsyncGenerator<string[]> {
  let after = '-'
  for (;;) {
    const ids = await redis.zrangebylex(globalKeys.rooms, after, '+', 'LIMIT', 0, BATCH)
    if (ids.length > 0) yield ids
    if (ids.length < BATCH) return
    after = `(${ids[ids.length - 1]!}`
  }
}

/** The keys matching `pattern` on every primary, a batch at a time. */
async function * scanKeys (redis: RedisClient, pattern: string): AsyncGenerator<string[]> {
  const servers = redis instanceof Redis ? [redis] : redis.nodes('master')
  for (const server of servers) {
    let cursor = '0'
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT)
      if (keys.length > 0) yield keys
      cursor = next
    } while (cursor !== '0')
  }
}

/** A key of layout 2: `chat:{p<N>}:<rest>` (this layout's tags end in letters, so never match). */
const LAYOUT_2_KEY = /^chat:\{p(\d{1,3})\}:(.+)$/s

/**
 * Moves every key of layout 2 to this layout: a room's keys to the same names under the room's
 * new tag; per partition, each node's presence entries and parked webhook events to the new
 * partition of their room, and the outbox's unfinished events to their room's new stream with
 * every consumer group recreated there (a group that had read an entry gets it again: webhook
 * receivers drop it by its id); webhook leases and attempt counts start over.
 */
async function moveLayout2 (options: LayoutOptions): Promise<void> {
  const { redis, log } = options
  const started = Date.now()
  const roomsByPartition = new Map<number, string[]>()
  for await (const ids of roomIds(redis)) {
    for (const id of ids) {
      const partition = layout2.partitionOf(id)
      roomsByPartition.set(partition, [...roomsByPartition.get(partition) ?? [], id])
    }
  }
  await recreateGroups(redis)
  const roomNames = new Set(options.roomKeyNames)
  const unknown = new Set<string>()
  let moved = 0
  const renew = () => redis.set(globalKeys.layoutLock, options.nodeId, 'PX', LOCK_MS, 'XX')
  for await (const keys of scanKeys(redis, 'chat:{p*}:*')) {
    await renew()
    for (const key of keys) {
      const match = LAYOUT_2_KEY.exec(key)
      if (match === null || Number(match[1]) >= layout2.partitions) continue
      const partition = Number(match[1])
      const rest = match[2]!
      const name = rest.slice(0, rest.indexOf(':') >>> 0)
      if (rest === 'outbox') await moveOutbox(redis, partition)
      else if (rest === 'hooks-failed' || rest === 'hooks-failed-order') await moveParked(redis, partition)
      else if (rest === 'hook-attempts' || (name === 'hook' && rest.endsWith(':lease'))) await redis.del(key)
      else if (name === 'node') await moveNodePresence(redis, key, rest.slice(name.length + 1))
      else if (name === 'sent') await moveSent(redis, key, rest.slice(name.length + 1), roomsByPartition.get(partition) ?? [])
      else if (roomNames.has(name)) await moveKey(redis, key, roomKey(name, rest.slice(name.length + 1)))
      else {
        unknown.add(name === '' ? rest : name)
        continue
      }
      moved++
    }
  }
  if (unknown.size > 0) log.warn({ kinds: [...unknown] }, 'keys of layout 2 of unknown kinds were left where they are')
  log.info({ moved, ms: Date.now() - started }, 'Redis keys moved from layout 2 to layout 3 (evenly spread partitions)')
}

/** Moves one key to another name, with its expiry: RENAME on one server, DUMP and RESTORE across a cluster's slots. */
async function moveKey (redis: RedisClient, from: string, to: string): Promise<void> {
  if (redis instanceof Redis) {
    await redis.rename(from, to).catch((err: unknown) => {
      if (!String(err).includes('no such key')) throw err
    })
    return
  }
  const dump = await redis.dumpBuffer(from)
  if (dump === null) return
  const ttl = await redis.pttl(from)
  await redis.restore(to, ttl > 0 ? ttl : 0, dump, 'REPLACE')
  await redis.del(from)
}

/** A clientId key `sent:<room>:<user>:<clientId>`: ids may hold ':', so the room is the longest known one that fits. */
async function moveSent (redis: RedisClient, key: string, rest: string, rooms: string[]): Promise<void> {
  let room: string | undefined
  for (const candidate of rooms) {
    if (rest.startsWith(`${candidate}:`) && candidate.length > (room?.length ?? -1)) room = candidate
  }
  if (room === undefined) await redis.del(key)
  else await moveKey(redis, key, roomKey('sent', room) + rest.slice(room.length))
}

/** A node's presence entries of an old partition, each to its room's new partition. */
async function moveNodePresence (redis: RedisClient, key: string, owner: string): Promise<void> {
  const entries = await redis.smembers(key)
  const byPartition = new Map<number, string[]>()
  for (const entry of entries) {
    const target = partitionOf(entry.slice(0, entry.indexOf('\u0000')))
    byPartition.set(target, [...byPartition.get(target) ?? [], entry])
  }
  for (const [target, moving] of byPartition) await redis.sadd(partitionKeys(target).nodePresence(owner), ...moving)
  await redis.del(key)
}

/** Parked webhook events of an old partition, each to its room's new partition, with its time. */
async function moveParked (redis: RedisClient, partition: number): Promise<void> {
  const old = layout2.partitionKeys(partition)
  const records = await redis.hgetall(old.hooksFailed)
  for (const [id, text] of Object.entries(records)) {
    const record = JSON.parse(text) as { room: string }
    const score = await redis.zscore(old.hooksFailedOrder, id) ?? String(Date.now())
    const keys = partitionKeys(partitionOf(record.room))
    await redis.hset(keys.hooksFailed, id, text)
    await redis.zadd(keys.hooksFailedOrder, score, id)
  }
  await redis.del(old.hooksFailed)
  await redis.del(old.hooksFailedOrder)
}

/** The primary of a key, for XINFO and XGROUP (see primaryOf). */
function server (redis: RedisClient, key: string): Redis {
  const found = primaryOf(redis, key)
  if (found === undefined) throw new Error(`no primary holds the slot of ${key}`)
  return found
}

interface GroupInfo { name: string, lastDelivered: string, pending: number }

async function groupsOf (redis: RedisClient, stream: string): Promise<GroupInfo[]> {
  const reply = await server(redis, stream).xinfo('GROUPS', stream).catch((err: unknown) => {
    if (String(err).includes('no such key')) return []
    throw err
  }) as unknown[][]
  return reply.map((fields) => {
    const field = (name: string) => fields[fields.indexOf(name) + 1]
    return { name: String(field('name')), lastDelivered: String(field('last-delivered-id')), pending: Number(field('pending')) }
  })
}

/** Every consumer group of an old outbox, created on every new one before any event is moved. */
async function recreateGroups (redis: RedisClient): Promise<void> {
  const names = new Set<string>()
  for (let partition = 0; partition < layout2.partitions; partition++) {
    for (const group of await groupsOf(redis, layout2.partitionKeys(partition).outbox)) names.add(group.name)
  }
  for (const name of names) {
    await Promise.all(Array.from({ length: PARTITIONS }, (_v, partition) =>
      server(redis, partitionKeys(partition).outbox).xgroup('CREATE', partitionKeys(partition).outbox, name, '0', 'MKSTREAM').catch((err: unknown) => {
        if (!String(err).includes('BUSYGROUP')) throw err
      })))
  }
}

const streamId = (id: string): [bigint, bigint] => {
  const [ms, seq] = id.split('-')
  return [BigInt(ms ?? '0'), BigInt(seq ?? '0')]
}
const earlier = (a: string, b: string) => {
  const [am, as] = streamId(a)
  const [bm, bs] = streamId(b)
  return am < bm || (am === bm && as < bs)
}

/**
 * The first entry some group has not finished: its oldest pending entry, or the one after its
 * last delivered. With no group, every entry kept (a direct consumer may yet read from `0`).
 */
async function firstUnfinished (redis: RedisClient, stream: string, groups: GroupInfo[]): Promise<string> {
  let first: string | undefined
  for (const group of groups) {
    let start: string
    if (group.pending > 0) {
      const summary = await redis.xpending(stream, group.name) as [number, string, string, unknown]
      start = summary[1]
    } else {
      const [ms, seq] = streamId(group.lastDelivered)
      start = `${ms}-${seq + 1n}`
    }
    if (first === undefined || earlier(start, first)) first = start
  }
  return first ?? '-'
}

/** An old outbox's unfinished entries, in order, appended to their rooms' new streams. */
async function moveOutbox (redis: RedisClient, partition: number): Promise<void> {
  const stream = layout2.partitionKeys(partition).outbox
  let from = await firstUnfinished(redis, stream, await groupsOf(redis, stream))
  for (;;) {
    const entries = await redis.xrange(stream, from, '+', 'COUNT', BATCH)
    for (const [, fields] of entries) {
      let room = ''
      for (let i = 0; i < fields.length; i += 2) if (fields[i] === 'r') room = fields[i + 1]!
      await redis.xadd(partitionKeys(partitionOf(room)).outbox, '*', ...fields)
    }
    if (entries.length < BATCH) break
    const [ms, seq] = streamId(entries[entries.length - 1]![0])
    from = `${ms}-${seq + 1n}`
  }
  await redis.del(stream)
}
