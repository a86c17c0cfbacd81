import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { Message } from '../../schemas/common.ts'
import type { SearchStore } from './store.ts'
import { isDeleted, matches, wordsOf } from './words.ts'

/**
 * Redis alone keeps no word index (it would cost memory per word of every message): a search
 * reads each room's newest SCAN_PER_ROOM messages and keeps those that match. History on Redis is
 * bounded by the rooms' historyLimit (1000 by default), so by default a search sees all of it.
 */
export const SCAN_PER_ROOM = 2000

/** ARGV after the room: how many. The room's newest messages, newest first. */
const NEWEST_LUA = `
return redis.call('ZREVRANGE', K.msgs, 0, tonumber(ARGV[2]) - 1)`

/** Search on Redis: a bounded scan of each room's newest messages (one room script each, in parallel). */
export function redisSearch (storage: RedisStorage): SearchStore {
  const newest = storage.roomScript<string[]>('chatSearchNewest', NEWEST_LUA)
  return {
    async search (rooms, words, limit) {
      if (rooms.length === 0 || words.length === 0) return []
      const perRoom = await Promise.all(rooms.map((room) => newest(room, [SCAN_PER_ROOM])))
      const found: Message[] = []
      for (const members of perRoom) {
        for (const member of members) {
          const message = JSON.parse(member) as Message
          if (!isDeleted(message) && matches(wordsOf(message.text), words)) found.push(message)
        }
      }
      found.sort((a, b) => (a.time === b.time ? b.seq - a.seq : a.time < b.time ? 1 : -1))
      return found.slice(0, limit)
    }
  }
}
