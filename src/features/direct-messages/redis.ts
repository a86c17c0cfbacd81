import { PREFIX } from '../../engine/redis/keys.ts'
import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { DmStore } from './store.ts'

const userDms = (user: string) => `${PREFIX}user:${user}:dms`

/**
 * Direct messages in Redis: per DM room its participants (`chat:{pN}:dm:<room>`, a set, deleted
 * with the room), and per user its DM rooms (`chat:user:<user>:dms`, a key of its own slot,
 * written first; a room no longer there is dropped when read).
 */
export function redisDms (storage: RedisStorage): DmStore {
  const { redis } = storage
  const dmKey = storage.roomKey('dm')
  return {
    async save (room, users) {
      await Promise.all(users.map((user) => redis.sadd(userDms(user), room)))
      await redis.sadd(dmKey(room), ...users)
    },
    async roomsOf (user) {
      const rooms = (await redis.smembers(userDms(user))).sort()
      const held = await Promise.all(rooms.map((room) => redis.sismember(dmKey(room), user)))
      const stale = rooms.filter((_room, i) => held[i] !== 1)
      if (stale.length > 0) await redis.srem(userDms(user), ...stale)
      return rooms.filter((_room, i) => held[i] === 1)
    },
    async areDms (rooms) {
      return await Promise.all(rooms.map(async (room) => await redis.exists(dmKey(room)) === 1))
    }
  }
}
