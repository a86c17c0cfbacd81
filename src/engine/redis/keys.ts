import calculateSlot from 'cluster-key-slot'
import { PARTITION_TAGS } from './partition-tags.ts'

/**
 * Every key and channel name of the Redis engine is made here, so that a feature adding per-room
 * or per-partition data gets the right hash tag by construction.
 *
 * Rooms are spread over PARTITIONS partitions. Every key of a room, its pub/sub channel and the
 * per-partition keys (each node's presence entries, the event outbox) carry the partition's
 * hash tag, so on a Redis Cluster they all live in one slot and any script may touch a room and
 * its partition's keys together. Partition i's tag (partition-tags.ts, `p<i>` and a few letters)
 * puts it in slot i × 64 + 32: evenly spaced slots, so primaries that hold even slot ranges hold
 * as many partitions each, within one (max/min 1.25 at worst, for 3 to 64 primaries). Changing
 * PARTITIONS, the tags or the hash moves every room to other keys: a new key layout, with its
 * migration (layout.ts).
 *
 * Ids match the contract's id pattern, so they contain neither braces (no second hash tag) nor
 * the NUL that separates the parts of a presence entry.
 */
export const PARTITIONS = PARTITION_TAGS.length
export const PREFIX = 'chat:'

/** How a layout names its partitions: how many, and the hash tag of each. */
interface Partitioning {
  partitions: number
  tag: (partition: number) => string
}

const CURRENT: Partitioning = { partitions: PARTITIONS, tag: (partition) => PARTITION_TAGS[partition]! }

/** Layout "2": 128 partitions tagged `{p0}` … `{p127}`, whose slots fall unevenly; kept to move its data. */
const LAYOUT_2: Partitioning = { partitions: 128, tag: (partition) => `p${partition}` }

/**
 * A room's partition: CRC16 of its id (the function Redis Cluster uses for slots, from the
 * library ioredis uses), modulo PARTITIONS. Stable across processes, versions and platforms.
 */
export const partitionOf = (room: string): number => calculateSlot(room) % PARTITIONS

const prefixOf = (layout: Partitioning, partition: number) => `${PREFIX}{${layout.tag(partition)}}:`

export interface PartitionKeys {
  partition: number
  /** A node's presence entries in this partition's rooms: set of presenceEntry(). */
  nodePresence: (owner: string) => string
  /** presence key = presencePrefix + room id (for scripts that walk entries of many rooms). */
  presencePrefix: string
  /** channel = channelPrefix + room id. */
  channelPrefix: string
  /**
   * stream of the partition's events out, in the order they happened: fields `r` (room), `e`
   * (the event JSON as sent) and, for a retried event, `to` (the URL keys it is for)
   */
  outbox: string
  /** per webhook URL (urlKey): "node id" of the node delivering the partition's events to it, expiring */
  hookLease: (url: string) => string
  /** hash: "<urlKey> <entry id>" → JSON {attempts, lastError} of an event that failed for that URL */
  hookAttempts: string
  /** hash: event id → JSON {event, urls: {url: {attempts, lastError}}} of an event parked for some URLs */
  hooksFailed: string
  /** sorted set of the parked event ids, scored by when they were first parked (Redis clock, ms) */
  hooksFailedOrder: string
}

export function partitionKeys (partition: number, layout: Partitioning = CURRENT): PartitionKeys {
  const base = prefixOf(layout, partition)
  return {
    partition,
    nodePresence: (owner) => `${base}node:${owner}`,
    presencePrefix: `${base}presence:`,
    channelPrefix: `${base}events:`,
    outbox: `${base}outbox`,
    hookLease: (url) => `${base}hook:${url}:lease`,
    hookAttempts: `${base}hook-attempts`,
    hooksFailed: `${base}hooks-failed`,
    hooksFailedOrder: `${base}hooks-failed-order`
  }
}

export interface RoomKeys {
  partition: number
  /** hash: name, private ('1'/'0'), historyLimit ('' = default), slowModeMs (absent: 0), createdAt, lastSeq */
  room: string
  /** sorted set: score = seq, member = the message JSON */
  messages: string
  /** set of users granted the private room */
  grants: string
  /** hash: user → connections online in the room, over all nodes */
  presence: string
  /** "seq id time" of a message sent with that clientId, expiring after CLIENT_ID_TTL_MS */
  sent: (user: string, clientId: string) => string
  /** sorted set of the room's changed messages: member = seq, score = the room's latest seq at the change */
  changes: string
  /** the room's pub/sub channel (a shard channel on a cluster) */
  channel: string
  /** the outbox stream of the room's partition (see PartitionKeys) */
  outbox: string
}

/**
 * A room's key of the kind `name` (`chat:{pN}:<name>:<room>`): features name theirs this way
 * (RedisStorage.roomKey), with the room's hash tag.
 */
export const roomKey = (name: string, room: string, layout: Partitioning = CURRENT): string =>
  `${prefixOf(layout, calculateSlot(room) % layout.partitions)}${name}:${room}`

export function roomKeys (id: string, layout: Partitioning = CURRENT): RoomKeys {
  const partition = calculateSlot(id) % layout.partitions
  const base = prefixOf(layout, partition)
  return {
    partition,
    room: `${base}room:${id}`,
    messages: `${base}msgs:${id}`,
    grants: `${base}grants:${id}`,
    presence: `${base}presence:${id}`,
    sent: (user, clientId) => `${base}sent:${id}:${user}:${clientId}`,
    changes: `${base}changes:${id}`,
    channel: `${base}events:${id}`,
    outbox: `${base}outbox`
  }
}

/** Keys that span rooms; each is in a slot of its own and never in a script with a room's keys. */
export const globalKeys = {
  /** sorted set of room ids, all scores 0, listed with ZRANGEBYLEX after a cursor */
  rooms: `${PREFIX}rooms`,
  /** sorted set of presence owners (node incarnations) scored by their last heartbeat, 0 once taken for dead */
  nodes: `${PREFIX}nodes`,
  /** the key layout version (LAYOUT in layout.ts), written once the data is in this layout */
  layout: `${PREFIX}layout`,
  /** "node id" of the node moving the data to this layout, expiring (layout.ts) */
  layoutLock: `${PREFIX}layout-lock`,
  /** list of the partitions' outbox streams, in partition order, for direct consumers (docs/events.md) */
  outboxes: `${PREFIX}outboxes`,
  /** the channel of node-level events */
  nodeChannel: `${PREFIX}node-events`
}

/** Set of the rooms that granted the user (a key of its own slot, kept beside each room's grants). */
export const userGrants = (user: string) => `${PREFIX}user:${user}:grants`

/** One connection of a user in a room, as held in its node's presence set. */
export const presenceEntry = (room: string, user: string, connectionId: string) =>
  `${room}\u0000${user}\u0000${connectionId}`

/** Layout "2", for the move of its data to this one: its partitions, and each partition's and room's keys. */
export const layout2 = {
  partitions: LAYOUT_2.partitions,
  partitionKeys: (partition: number) => partitionKeys(partition, LAYOUT_2),
  roomKeys: (id: string) => roomKeys(id, LAYOUT_2),
  roomKey: (name: string, room: string) => roomKey(name, room, LAYOUT_2),
  partitionOf: (room: string) => calculateSlot(room) % LAYOUT_2.partitions
}

/** The single-channel layout that came before partitions, for the one-time move of its data. */
export const legacyKeys = {
  room: (id: string) => `${PREFIX}room:${id}`,
  messages: (id: string) => `${PREFIX}msgs:${id}`,
  grants: (id: string) => `${PREFIX}grants:${id}`,
  presence: (id: string) => `${PREFIX}presence:${id}`,
  nodePresence: (nodeId: string) => `${PREFIX}node:${nodeId}:presence`
}
