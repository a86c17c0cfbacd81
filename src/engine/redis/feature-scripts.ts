import type { Result } from 'ioredis'
import { NOW_LUA } from './lua.ts'
import { RECORD_LUA } from './outbox.ts'

/**
 * Scripts of the chat features (edits, read state, typing). Like the engine's own scripts, each
 * touches the keys of one room only, and those that publish do so in the step of the change.
 */
export const featureScripts = {
  /**
   * KEYS: room hash, messages, changes, the partition's outbox. ARGV: seq, user ('' for an
   * operator), 'edit' or 'delete', the new text, the time, the room's channel, the default
   * history limit, the publishing command, the event's id ('' = not recorded), the room id.
   * Rewrites the message in place, records the change (member = seq, score = the room's latest
   * seq, which is what recovery asks for), forgets changes of messages no longer retained,
   * records the message.edited or message.deleted event, and publishes the `updated` event.
   * Returns {outcome, message JSON}.
   */
  chatChangeMessage: {
    numberOfKeys: 4,
    lua: `${RECORD_LUA}
local state = redis.call('HMGET', KEYS[1], 'lastSeq', 'historyLimit')
if not state[1] then return { 'not_found' } end
local seq = tonumber(ARGV[1])
local found = redis.call('ZRANGEBYSCORE', KEYS[2], seq, seq)
if not found[1] then return { 'not_found' } end
local message = cjson.decode(found[1])
if ARGV[2] ~= '' and message.user ~= ARGV[2] then return { 'forbidden' } end
if message.deleted then
  if ARGV[3] == 'delete' then return { 'unchanged', found[1] } end
  return { 'not_found' }
end
if ARGV[3] == 'edit' then
  message.text = ARGV[4]
  message.version = (tonumber(message.version) or 1) + 1
  message.editedAt = ARGV[5]
else
  message.text = ''
  message.deleted = true
  message.deletedAt = ARGV[5]
end
local member = cjson.encode(message)
redis.call('ZREMRANGEBYSCORE', KEYS[2], seq, seq)
redis.call('ZADD', KEYS[2], seq, member)
local latest = tonumber(state[1])
local limit = tonumber(state[2]) or tonumber(ARGV[7])
redis.call('ZADD', KEYS[3], latest, seq)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (latest - limit + 1))
if ARGV[9] ~= '' then record(KEYS[4], ARGV[9], ARGV[3] == 'edit' and 'message.edited' or 'message.deleted', ARGV[5], ARGV[10], member) end
redis.call(ARGV[8], ARGV[6], '{"kind":"updated","message":' .. member .. '}')
return { 'changed', member }`
  },
  /** KEYS: changes, messages. ARGV: since. Retained messages up to since changed at or after since. */
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
  /** KEYS: room hash, read seqs. ARGV: user, seq. 1 moved, 0 not forward, -1 no such room. */
  chatMoveRead: {
    numberOfKeys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local current = tonumber(redis.call('HGET', KEYS[2], ARGV[1]))
if current and current >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`
  },
  /** KEYS: room hash, read seqs. ARGV: user. {latest seq, read seq}, or nil without either. */
  chatUnreadOf: {
    numberOfKeys: 2,
    lua: `
local latest = redis.call('HGET', KEYS[1], 'lastSeq')
local read = redis.call('HGET', KEYS[2], ARGV[1])
if not latest or not read then return false end
return { tonumber(latest), tonumber(read) }`
  },
  /**
   * KEYS: the room's typing set (user → expiry, Redis clock). ARGV: user, 'start', 'stop' or
   * 'sweep', time to live (ms), the room's channel, room, the publishing command.
   * Drops expired entries, applies the change, and publishes the set when it differs from the
   * one last published. Returns {1 if changed, ms to the next expiry or -1, users…}.
   */
  chatTyping: {
    numberOfKeys: 1,
    lua: `${NOW_LUA}
local before = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ttl = tonumber(ARGV[3])
if ARGV[2] == 'start' then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ttl + 1000)
elseif ARGV[2] == 'stop' then
  redis.call('ZREM', KEYS[1], ARGV[1])
end
local after = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(before)
table.sort(after)
local changed = #before ~= #after
if not changed then
  for i = 1, #after do
    if before[i] ~= after[i] then changed = true break end
  end
end
local nextExpiry = -1
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] then nextExpiry = math.max(0, tonumber(first[2]) - now) end
if changed then
  local users = {}
  for i = 1, #after do users[i] = cjson.encode(after[i]) end
  redis.call(ARGV[6], ARGV[4], '{"kind":"typing","room":' .. cjson.encode(ARGV[5]) .. ',"users":[' .. table.concat(users, ',') .. ']}')
end
local result = { changed and 1 or 0, nextExpiry }
for i = 1, #after do result[i + 2] = after[i] end
return result`
  }
} as const

declare module 'ioredis' {
  interface RedisCommander<Context> {
    chatChangeMessage(room: string, messages: string, changes: string, outbox: string, seq: string, user: string, op: 'edit' | 'delete',
      text: string, time: string, channel: string, defaultLimit: string, publish: string, eventId: string, roomId: string): Result<[string, string?], Context>
    chatChangedSince(changes: string, messages: string, since: string): Result<string[], Context>
    chatMoveRead(room: string, reads: string, user: string, seq: string): Result<number, Context>
    chatUnreadOf(room: string, reads: string, user: string): Result<[number, number] | null, Context>
    chatTyping(typing: string, user: string, op: 'start' | 'stop' | 'sweep', ttlMs: string, channel: string, room: string,
      publish: string): Result<(number | string)[], Context>
  }
}
