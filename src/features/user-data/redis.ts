import { roomPages } from '../../engine/redis/room-list.ts'
import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { Message } from '../../schemas/common.ts'
import type { UserMessagesStore } from './store.ts'

/** ARGV after the room: the user. The room's messages written by the user, in seq order. */
const OF_USER_LUA = `
local found = {}
for _, member in ipairs(redis.call('ZRANGE', K.msgs, 0, -1)) do
  if decode(member).user == ARGV[2] then found[#found + 1] = member end
end
return found`

/** A user's messages on Redis: each room's history read by a script that keeps the user's (an operator's rare request). */
export function redisUserMessages (storage: RedisStorage): UserMessagesStore {
  const ofUser = storage.roomScript<string[]>('chatMessagesOfUser', OF_USER_LUA)
  return {
    async messagesOf (user) {
      const found: Message[] = []
      for await (const rooms of roomPages(storage.redis, 100)) {
        const perRoom = await Promise.all(rooms.map((room) => ofUser(room, [user])))
        for (const members of perRoom) for (const member of members) found.push(JSON.parse(member) as Message)
      }
      return found
    }
  }
}
