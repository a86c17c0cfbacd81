import { roomPages } from '../../engine/redis/room-list.ts'
import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { Role } from './schemas.ts'
import type { RolesStore } from './store.ts'

/** ARGV after the room: user, role. 1 set, 0 no such room. */
const SET_ROLE_LUA = `
if redis.call('EXISTS', K.room) == 0 then return 0 end
redis.call('HSET', K.roles, ARGV[2], ARGV[3])
return 1`

/** Room roles in Redis: per room a hash user → role (`chat:{pN}:roles:<room>`), deleted with the room. */
export function redisRoles (storage: RedisStorage): RolesStore {
  const { redis } = storage
  const rolesKey = storage.roomKey('roles')
  const setRole = storage.roomScript<number>('chatSetRole', SET_ROLE_LUA)
  return {
    async setRole (room, user, role) {
      return await setRole(room, [user, role]) === 1
    },
    async removeRole (room, user) {
      await redis.hdel(rolesKey(room), user)
    },
    async roleOf (room, user) {
      return (await redis.hget(rolesKey(room), user) ?? undefined) as Role | undefined
    },
    async roles (room) {
      const all = await redis.hgetall(rolesKey(room))
      return Object.keys(all).sort().map((user) => ({ user, role: all[user] as Role }))
    },
    // Roles are kept per room: a user's are read room by room (an operator's rare request).
    async rolesOf (user) {
      const found: { room: string, role: Role }[] = []
      for await (const rooms of roomPages(redis)) {
        const roles = await Promise.all(rooms.map((room) => redis.hget(rolesKey(room), user)))
        rooms.forEach((room, i) => { if (roles[i] !== null) found.push({ room, role: roles[i] as Role }) })
      }
      return found
    }
  }
}
