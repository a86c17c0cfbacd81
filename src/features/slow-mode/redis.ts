import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { SlowModeStore } from './store.ts'

/**
 * ARGV after the room: the user. Reads the room's own interval (a change made on any node holds
 * at once), and the user's last send from the room's slow-mode hash; 0 and the send recorded
 * when the user may send, else the ms left. The hash lives one interval past the last send.
 */
const CLAIM_LUA = `
local interval = tonumber(redis.call('HGET', K.room, 'slowModeMs')) or 0
if interval <= 0 then return 0 end
local now = now_ms()
local last = tonumber(redis.call('HGET', K.slowmode, ARGV[2]))
if last ~= nil and now - last < interval then return interval - (now - last) end
redis.call('HSET', K.slowmode, ARGV[2], now)
redis.call('PEXPIRE', K.slowmode, interval)
return 0`

/** Slow mode's last sends in Redis: per room a hash user → Unix ms of its last message (`chat:{pN}:slowmode:<room>`), deleted with the room. */
export function redisSlowMode (storage: RedisStorage): SlowModeStore {
  storage.roomKey('slowmode')
  const claim = storage.roomScript<number>('chatSlowModeClaim', CLAIM_LUA)
  return {
    async claim (room, user) {
      return await claim(room, [user])
    }
  }
}
