import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { TypingState, TypingStore } from './store.ts'

/**
 * The room's typing set: a sorted set of users scored by when their typing expires (Redis
 * clock), which expires itself a second after its last entry. ARGV after the room: user,
 * 'start', 'stop' or 'sweep', time to live (ms). Drops expired entries, applies the change, and
 * publishes the set when it differs from before. Returns {1 if changed, ms to the next expiry or
 * -1, users…}.
 */
const TYPING_LUA = `
local now = now_ms()
local before = redis.call('ZRANGE', K.typing, 0, -1)
redis.call('ZREMRANGEBYSCORE', K.typing, '-inf', now)
local ttl = tonumber(ARGV[4])
if ARGV[3] == 'start' then
  redis.call('ZADD', K.typing, now + ttl, ARGV[2])
  redis.call('PEXPIRE', K.typing, ttl + 1000)
elseif ARGV[3] == 'stop' then
  redis.call('ZREM', K.typing, ARGV[2])
end
local after = redis.call('ZRANGE', K.typing, 0, -1)
table.sort(before)
table.sort(after)
local changed = #before ~= #after
if not changed then
  for i = 1, #after do
    if before[i] ~= after[i] then changed = true break end
  end
end
local next_expiry = -1
local first = redis.call('ZRANGE', K.typing, 0, 0, 'WITHSCORES')
if first[2] then next_expiry = math.max(0, tonumber(first[2]) - now) end
if changed then
  local users = {}
  for i = 1, #after do users[i] = cjson.encode(after[i]) end
  publish_feature('typing', '{"users":[' .. table.concat(users, ',') .. ']}')
end
local result = { changed and 1 or 0, next_expiry }
for i = 1, #after do result[i + 2] = after[i] end
return result`

/** Typing in Redis, shared by every node: a node that dies cannot leave anyone typing. */
export function redisTyping (storage: RedisStorage): TypingStore {
  storage.roomKey('typing')
  const change = storage.roomScript<(number | string)[]>('chatTyping', TYPING_LUA)
  return {
    async change (room, user, op, ttlMs) {
      const [changed, nextExpiry, ...users] = await change(room, [user, op, ttlMs])
      const state: TypingState = {}
      if (Number(nextExpiry) >= 0) state.nextExpiryMs = Number(nextExpiry)
      if (changed === 1) state.changed = users.map(String)
      return state
    },
    forget () {}
  }
}
