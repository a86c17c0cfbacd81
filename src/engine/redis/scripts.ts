import type { Result } from 'ioredis'
import type { RedisClient } from './connection.ts'
import { NOW_LUA } from './lua.ts'
import { RECORD_LUA } from './outbox.ts'
import { webhookScripts } from './webhook-scripts.ts'

/**
 * Every multi-step change is one script, so it is atomic and a node that dies half-way leaves
 * nothing half-done. Each script touches the keys of one room or one partition only (one hash
 * tag, so one slot on a cluster; see keys.ts); keys that span rooms are written in steps
 * of their own. Scripts that publish do so in the same step as the change they announce, on
 * the room's channel, which carries the same tag: an event is on the channel exactly when its
 * change is visible. The publishing command is an argument: PUBLISH on a single Redis (any
 * version), SPUBLISH on a cluster, where only shard channels stay within the slot.
 */
const scripts = {
  /**
   * KEYS: room hash, the partition's outbox. ARGV: name, private, historyLimit ('' = default),
   * createdAt, the room.created event's id ('' = not recorded), the room id, the room object's
   * JSON, slowModeMs. 1 when created.
   */
  chatCreateRoom: {
    numberOfKeys: 2,
    lua: `${RECORD_LUA}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'private', ARGV[2], 'historyLimit', ARGV[3], 'createdAt', ARGV[4], 'lastSeq', 0, 'slowModeMs', ARGV[8])
if ARGV[5] ~= '' then record(KEYS[2], ARGV[5], 'room.created', ARGV[4], ARGV[6], ARGV[7]) end
return 1`
  },
  /**
   * KEYS: grants, presence, the partition's outbox. ARGV: user, the member.kicked event's id
   * ('' = not recorded), its time, the room id, the reason. Revokes the grant; the event is
   * recorded when the user has connections in the room, which the kick then removes.
   */
  chatRevokeGrant: {
    numberOfKeys: 3,
    lua: `${RECORD_LUA}
redis.call('SREM', KEYS[1], ARGV[1])
if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], ARGV[1]) then
  record(KEYS[3], ARGV[2], 'member.kicked', ARGV[3], ARGV[4], '{"user":' .. cjson.encode(ARGV[1]) .. ',"reason":' .. cjson.encode(ARGV[5]) .. '}')
end
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
   * KEYS: room hash. ARGV: floor, the room's createdAt. Raises the room's lastSeq to floor when
   * it is below it: a node that delivered up to floor has seen those seqs given out, and a
   * primary promoted from a replica that lacked the last writes must not give them out again.
   * Returns how far it was raised (0: not behind), -1 when the room is not the one of that
   * createdAt (deleted, or made again: its seqs start over).
   */
  chatRaiseSeq: {
    numberOfKeys: 1,
    lua: `
local state = redis.call('HMGET', KEYS[1], 'lastSeq', 'createdAt')
if not state[1] or state[2] ~= ARGV[2] then return -1 end
local behind = tonumber(ARGV[1]) - tonumber(state[1])
if behind <= 0 then return 0 end
redis.call('HSET', KEYS[1], 'lastSeq', ARGV[1])
return behind`
  },
  /**
   * KEYS: changes, messages. ARGV: since. Retained messages up to since changed at or after
   * since (the score of a change is the room's latest seq when it was made).
   */
  chatChangedSince: {
    numberOfKeys: 2,
    lua: `
local since = tonumber(ARGV[1])
local result = {}
for _, entry in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], since, '+inf')) do
  local seq = tonumber(entry)
  if seq <= since then
    local found = redis.call('ZRANGEBYSCORE', KEYS[2], seq, seq)
    if found[1] then result[#result + 1] = found[1] end
  end
end
return result`
  },
  /**
   * KEYS: room presence hash, this node's presence set of the room's partition, the partition's
   * outbox. ARGV: user, entry, the presence.join event's id ('' = not recorded), its time, the
   * room id. 1 when this is the user's first connection in the room.
   */
  chatPresenceAdd: {
    numberOfKeys: 3,
    lua: `${RECORD_LUA}
if redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[1], ARGV[1], 1) ~= 1 then return 0 end
if ARGV[3] ~= '' then record(KEYS[3], ARGV[3], 'presence.join', ARGV[4], ARGV[5], '{"user":' .. cjson.encode(ARGV[1]) .. '}') end
return 1`
  },
  /**
   * KEYS: room presence hash, this node's presence set of the room's partition, the partition's
   * outbox. ARGV: user, entry, the presence.leave event's id ('' = not recorded), its time, the
   * room id. 1 when it was the user's last connection. An entry that is gone (its node was
   * taken for dead and cleaned up, or the room was deleted) changes nothing.
   */
  chatPresenceRemove: {
    numberOfKeys: 3,
    lua: `${RECORD_LUA}
if redis.call('SREM', KEYS[2], ARGV[2]) == 0 then return 0 end
if not redis.call('HGET', KEYS[1], ARGV[1]) then return 0 end
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) > 0 then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[3] ~= '' then record(KEYS[3], ARGV[3], 'presence.leave', ARGV[4], ARGV[5], '{"user":' .. cjson.encode(ARGV[1]) .. '}') end
return 1`
  },
  /**
   * KEYS: nodes index. ARGV: presence owner, '1' to register it. Records a heartbeat. Returns
   * 1, and records nothing, when the owner is no longer registered or was taken for dead
   * (score 0): its presence is being removed, and the node must count itself in again under
   * a new owner.
   */
  chatHeartbeat: {
    numberOfKeys: 1,
    lua: `${NOW_LUA}
if ARGV[2] ~= '1' then
  local seen = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if not seen or tonumber(seen) == 0 then return 1 end
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
return 0`
  },
  /** KEYS: nodes index. ARGV: stale after (ms). Owners whose last heartbeat is older, or taken for dead. */
  chatStaleNodes: {
    numberOfKeys: 1,
    lua: `${NOW_LUA}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[1])))`
  },
  /**
   * KEYS: nodes index. ARGV: owner, stale after (ms; '' to claim a live owner, this node's own
   * when it closes). Marks the owner as taken for dead (score 0) when it is stale; 1 when it is
   * (now) taken, so its presence may be removed. Several nodes may claim the same owner.
   */
  chatClaimNode: {
    numberOfKeys: 1,
    lua: `${NOW_LUA}
local seen = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not seen then return 0 end
if ARGV[2] ~= '' and tonumber(seen) ~= 0 and tonumber(seen) >= now - tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], 0, ARGV[1])
return 1`
  },
  /**
   * KEYS: a dead owner's presence set in one partition, the partition's outbox. ARGV: entries
   * per call, the partition's presence key prefix and channel prefix, the publishing command,
   * time (ISO 8601), a prefix for the ids of presence.leave events ('' = not recorded).
   * Takes up to `entries per call` entries, uncounts them and publishes (and records) a leave
   * for every user whose count reaches 0. Popping makes concurrent cleaners safe: each entry is
   * uncounted once. Returns how many entries were taken (0 when none are left), then the room
   * and the user of each leave.
   */
  chatCleanupPartition: {
    numberOfKeys: 2,
    lua: `${RECORD_LUA}
local left = 0
local gone = {}
local entries = redis.call('SPOP', KEYS[1], tonumber(ARGV[1]))
for _, entry in ipairs(entries) do
  local first = string.find(entry, '\\0', 1, true)
  local second = string.find(entry, '\\0', first + 1, true)
  local room = string.sub(entry, 1, first - 1)
  local user = string.sub(entry, first + 1, second - 1)
  local key = ARGV[2] .. room
  if redis.call('HGET', key, user) then
    if redis.call('HINCRBY', key, user, -1) <= 0 then
      redis.call('HDEL', key, user)
      redis.call(ARGV[4], ARGV[3] .. room, '{"kind":"presence","room":' .. cjson.encode(room) ..
        ',"event":"leave","user":' .. cjson.encode(user) .. ',"time":"' .. ARGV[5] .. '"}')
      gone[#gone + 1] = room
      gone[#gone + 1] = user
      if ARGV[6] ~= '' then
        left = left + 1
        record(KEYS[2], ARGV[6] .. '-' .. left, 'presence.leave', ARGV[5], room, '{"user":' .. cjson.encode(user) .. '}')
      end
    end
  end
end
return { #entries, unpack(gone) }`
  },
  /** KEYS: nodes index. ARGV: owner. Deregisters an owner taken for dead once its presence is gone. */
  chatForgetNode: {
    numberOfKeys: 1,
    lua: `
local seen = redis.call('ZSCORE', KEYS[1], ARGV[1])
if seen and tonumber(seen) == 0 then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0`
  },
  /**
   * A single Redis only (the old layout was never on a cluster). KEYS: the old room hash,
   * messages, grants and presence, then the new room hash, messages and grants. Moves a room
   * of the single-channel layout to its partition's keys; 1 when moved, 0 when there was
   * nothing to move (moved already, or the new keys exist).
   */
  chatMoveLegacyRoom: {
    numberOfKeys: 7,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[5])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('RENAME', KEYS[2], KEYS[6]) end
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('RENAME', KEYS[3], KEYS[7]) end
redis.call('DEL', KEYS[4])
return 1`
  }
} as const

declare module 'ioredis' {
  interface RedisCommander<Context> {
    chatCreateRoom(room: string, outbox: string, name: string, priv: string, historyLimit: string, createdAt: string,
      eventId: string, id: string, data: string, slowModeMs: string): Result<number, Context>
    chatRevokeGrant(grants: string, presence: string, outbox: string, user: string, eventId: string, time: string, room: string,
      reason: string): Result<number, Context>
    chatSetGrant(room: string, grants: string, user: string): Result<number | null, Context>
    chatRecover(room: string, messages: string, since: string, defaultLimit: string): Result<(number | string)[], Context>
    chatChangedSince(changes: string, messages: string, since: string): Result<string[], Context>
    chatRaiseSeq(room: string, floor: string, createdAt: string): Result<number, Context>
    chatPresenceAdd(presence: string, nodePresence: string, outbox: string, user: string, entry: string, eventId: string, time: string,
      room: string): Result<number, Context>
    chatPresenceRemove(presence: string, nodePresence: string, outbox: string, user: string, entry: string, eventId: string, time: string,
      room: string): Result<number, Context>
    chatHeartbeat(nodes: string, owner: string, register: string): Result<number, Context>
    chatStaleNodes(nodes: string, staleMs: string): Result<string[], Context>
    chatClaimNode(nodes: string, owner: string, staleMs: string): Result<number, Context>
    chatCleanupPartition(nodePresence: string, outbox: string, count: string, presencePrefix: string, channelPrefix: string, publish: string,
      time: string, eventIds: string): Result<[number, ...string[]], Context>
    chatForgetNode(nodes: string, owner: string): Result<number, Context>
    chatMoveLegacyRoom(...keys: string[]): Result<number, Context>
  }
}

/** Registers the engine's scripts on a client (EVALSHA, falling back to EVAL once). */
export function defineScripts (redis: RedisClient): void {
  for (const [name, script] of Object.entries({ ...scripts, ...webhookScripts })) {
    redis.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua })
  }
}
