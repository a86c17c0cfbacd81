import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis, Result } from 'ioredis'
import { featureScripts } from './redis-feature-scripts.ts'

/**
 * Key names of the Redis engine. Ids match the contract's id pattern, so they never contain
 * ':' ambiguities that matter, nor the NUL that separates the parts of a presence entry.
 */
export const PREFIX = 'chat:'
export const redisKeys = {
  room: (id: string) => `${PREFIX}room:${id}`,
  rooms: `${PREFIX}rooms`,
  grants: (room: string) => `${PREFIX}grants:${room}`,
  messages: (room: string) => `${PREFIX}msgs:${room}`,
  /** One (room, user, clientId) sent recently: "seq id time", expiring after CLIENT_ID_TTL_MS. */
  sent: (room: string, user: string, clientId: string) => `${PREFIX}sent:${room}:${user}:${clientId}`,
  /** Sorted set of the room's changed messages: member = seq, score = the room's latest seq at the change. */
  changes: (room: string) => `${PREFIX}changes:${room}`,
  /** Hash of the room's read seqs: user → seq. */
  reads: (room: string) => `${PREFIX}reads:${room}`,
  /** Set of the rooms where the user has a read seq (may name deleted rooms, skipped when read). */
  userRooms: (user: string) => `${PREFIX}user:${user}:rooms`,
  /** Sorted set of the users typing in the room, scored by when their typing expires. */
  typing: (room: string) => `${PREFIX}typing:${room}`,
  presence: (room: string) => `${PREFIX}presence:${room}`,
  nodes: `${PREFIX}nodes`,
  nodePresence: (nodeId: string) => `${PREFIX}node:${nodeId}:presence`,
  channel: `${PREFIX}events`
}

/** One connection of a user in a room, as held in its node's presence set. */
export const presenceEntry = (room: string, user: string, connectionId: string) =>
  `${room}\u0000${user}\u0000${connectionId}`

/** Milliseconds of the Redis server's clock, so node clocks never need to agree. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

/**
 * Every multi-step change is one script, so it is atomic and a node that dies half-way leaves
 * nothing half-done. Scripts that publish do so in the same step as the change they announce:
 * an event is on the channel exactly when its change is visible.
 */
const scripts = {
  /** KEYS: room hash, rooms index. ARGV: id, name, private, historyLimit ('' = default), createdAt. */
  chatCreateRoom: {
    numberOfKeys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'private', ARGV[3], 'historyLimit', ARGV[4], 'createdAt', ARGV[5], 'lastSeq', 0)
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1`
  },
  /**
   * KEYS: room hash, messages. ARGV: pairs of (set?, value) for name, private, historyLimit,
   * then the default history limit. Merges in place so concurrent patches never undo each
   * other, and trims to the new limit. Returns name, private, historyLimit, createdAt.
   */
  chatUpdateRoom: {
    numberOfKeys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if ARGV[1] == '1' then redis.call('HSET', KEYS[1], 'name', ARGV[2]) end
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'private', ARGV[4]) end
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'historyLimit', ARGV[6]) end
local state = redis.call('HMGET', KEYS[1], 'name', 'private', 'historyLimit', 'createdAt', 'lastSeq')
local limit = tonumber(state[3]) or tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(state[5]) - limit)
return { state[1], state[2], state[3], state[4] }`
  },
  /** KEYS: room hash, messages, grants, rooms index, then more keys of the room to delete. ARGV: id. */
  chatDeleteRoom: {
    numberOfKeys: 7,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6], KEYS[7])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1`
  },
  /** KEYS: room hash, grants. ARGV: user. Nil when the room does not exist. */
  chatSetGrant: {
    numberOfKeys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('SADD', KEYS[2], ARGV[1])
return 1`
  },
  /**
   * KEYS: room hash, messages, the sent key of (room, user, clientId). ARGV: the message JSON
   * before and after its seq, the default history limit, the event channel, '1' when the
   * message has a clientId, its TTL (ms), and the id and time of the message.
   * Assigns the next seq, stores, trims, records the clientId and publishes the message event
   * in one step. Nil when the room does not exist; {1, seq} when stored; {0, "seq id time",
   * the stored message or ''} when the clientId was sent before (nothing is stored).
   */
  chatAppend: {
    numberOfKeys: 3,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if ARGV[5] == '1' then
  local sent = redis.call('GET', KEYS[3])
  if sent then
    local seq = tonumber(string.match(sent, '^%d+'))
    local stored = redis.call('ZRANGEBYSCORE', KEYS[2], seq, seq)
    return { 0, sent, stored[1] or '' }
  end
end
local seq = redis.call('HINCRBY', KEYS[1], 'lastSeq', 1)
local member = ARGV[1] .. seq .. ARGV[2]
redis.call('ZADD', KEYS[2], seq, member)
local limit = tonumber(redis.call('HGET', KEYS[1], 'historyLimit')) or tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', seq - limit)
if ARGV[5] == '1' then
  redis.call('SET', KEYS[3], seq .. ' ' .. ARGV[7] .. ' ' .. ARGV[8], 'PX', ARGV[6])
end
redis.call('PUBLISH', ARGV[4], '{"kind":"message","message":' .. member .. '}')
return { 1, seq }`
  },
  /**
   * KEYS: room hash, messages. ARGV: since, default history limit.
   * Returns {-1} for a missing room, else {latestSeq, oldest retained seq (0: none), messages…}
   * with the messages after since, at most the room's history limit of them.
   */
  chatRecover: {
    numberOfKeys: 2,
    lua: `
local state = redis.call('HMGET', KEYS[1], 'lastSeq', 'historyLimit')
if not state[1] then return { -1 } end
local latest = tonumber(state[1])
local since = tonumber(ARGV[1])
if since >= latest then return { latest, 0 } end
local limit = tonumber(state[2]) or tonumber(ARGV[2])
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local result = { latest, tonumber(oldest[2]) or 0 }
local messages = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. since, '+inf', 'LIMIT', 0, limit)
for i = 1, #messages do result[i + 2] = messages[i] end
return result`
  },
  /**
   * KEYS: room presence hash, this node's presence set. ARGV: user, entry.
   * 1 when this is the user's first connection in the room.
   */
  chatPresenceAdd: {
    numberOfKeys: 2,
    lua: `
if redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[1], ARGV[1], 1) == 1 then return 1 end
return 0`
  },
  /**
   * KEYS: room presence hash, this node's presence set. ARGV: user, entry.
   * 1 when it was the user's last connection. An entry that is gone (its node was taken for
   * dead and cleaned up, or the room was deleted) changes nothing.
   */
  chatPresenceRemove: {
    numberOfKeys: 2,
    lua: `
if redis.call('SREM', KEYS[2], ARGV[2]) == 0 then return 0 end
if not redis.call('HGET', KEYS[1], ARGV[1]) then return 0 end
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) > 0 then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1`
  },
  /** KEYS: nodes index. ARGV: node id. Records a heartbeat; 1 when the node was not registered. */
  chatHeartbeat: {
    numberOfKeys: 1,
    lua: `${NOW}
return redis.call('ZADD', KEYS[1], now, ARGV[1])`
  },
  /** KEYS: nodes index. ARGV: stale after (ms). Ids of nodes whose last heartbeat is older. */
  chatStaleNodes: {
    numberOfKeys: 1,
    lua: `${NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[1])))`
  },
  /**
   * KEYS: nodes index, the node's presence set. ARGV: node id, stale after (ms, '' to force),
   * entries per call, key prefix, event channel, time (ISO 8601).
   * Takes up to `entries per call` of a dead node's presence entries, uncounts them and
   * publishes a leave for every user whose count reaches 0. Popping makes concurrent cleaners
   * safe: each entry is uncounted once. Stops (-1) when the node has sent a heartbeat again.
   * Returns how many entries were taken; 0 when none are left.
   */
  chatCleanupNode: {
    numberOfKeys: 2,
    lua: `${NOW}
if ARGV[2] ~= '' then
  local seen = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if seen and tonumber(seen) >= now - tonumber(ARGV[2]) then return -1 end
end
redis.call('ZREM', KEYS[1], ARGV[1])
local entries = redis.call('SPOP', KEYS[2], tonumber(ARGV[3]))
for _, entry in ipairs(entries) do
  local first = string.find(entry, '\\0', 1, true)
  local second = string.find(entry, '\\0', first + 1, true)
  local room = string.sub(entry, 1, first - 1)
  local user = string.sub(entry, first + 1, second - 1)
  local key = ARGV[4] .. 'presence:' .. room
  if redis.call('HGET', key, user) then
    if redis.call('HINCRBY', key, user, -1) <= 0 then
      redis.call('HDEL', key, user)
      redis.call('PUBLISH', ARGV[5], '{"kind":"presence","room":' .. cjson.encode(room) ..
        ',"event":"leave","user":' .. cjson.encode(user) .. ',"time":"' .. ARGV[6] .. '"}')
    end
  end
end
return #entries`
  }
} as const

declare module 'ioredis' {
  interface RedisCommander<Context> {
    chatCreateRoom(room: string, rooms: string, id: string, name: string, priv: string, historyLimit: string, createdAt: string): Result<number, Context>
    chatUpdateRoom(room: string, messages: string, ...args: string[]): Result<[string, string, string, string] | null, Context>
    chatDeleteRoom(room: string, messages: string, grants: string, rooms: string, changes: string, reads: string, typing: string,
      id: string): Result<number, Context>
    chatSetGrant(room: string, grants: string, user: string): Result<number | null, Context>
    chatAppend(room: string, messages: string, sent: string, head: string, tail: string, defaultLimit: string, channel: string,
      hasClientId: string, ttlMs: string, id: string, time: string): Result<[1, number] | [0, string, string] | null, Context>
    chatRecover(room: string, messages: string, since: string, defaultLimit: string): Result<(number | string)[], Context>
    chatPresenceAdd(presence: string, nodePresence: string, user: string, entry: string): Result<number, Context>
    chatPresenceRemove(presence: string, nodePresence: string, user: string, entry: string): Result<number, Context>
    chatHeartbeat(nodes: string, nodeId: string): Result<number, Context>
    chatStaleNodes(nodes: string, staleMs: string): Result<string[], Context>
    chatCleanupNode(nodes: string, nodePresence: string, nodeId: string, staleMs: string, count: string, prefix: string, channel: string, time: string): Result<number, Context>
  }
}

/** Registers the engine's scripts on a connection (EVALSHA, falling back to EVAL once). */
export function defineScripts (redis: Redis): void {
  for (const [name, script] of Object.entries({ ...scripts, ...featureScripts })) {
    redis.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua })
  }
}

/** Whether Redis answers a PING on this connection within `timeoutMs` (for /readyz). */
export async function answers (redis: Redis, timeoutMs = 2000): Promise<boolean> {
  if (redis.status !== 'ready') return false
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
