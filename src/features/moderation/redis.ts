import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { SanctionKind } from './schemas.ts'
import type { SanctionsStore } from './store.ts'

/** ARGV after the room: field, JSON. 1 set, 0 no such room. */
const SET_SANCTION_LUA = `
if redis.call('EXISTS', K.room) == 0 then return 0 end
redis.call('HSET', K.sanctions, ARGV[2], ARGV[3])
return 1`

/** ARGV after the room: event id, time, data JSON. Records member.kicked when the room exists. */
const KICKED_LUA = `
if redis.call('EXISTS', K.room) == 0 then return 0 end
record_event(ARGV[2], 'member.kicked', ARGV[3], ARGV[4])
return 1`

/** Bans and mutes in Redis: per room a hash "<kind> <user>" → JSON {until, reason} (`chat:{pN}:sanctions:<room>`), deleted with the room. */
export function redisSanctions (storage: RedisStorage): SanctionsStore {
  const { redis } = storage
  const sanctionsKey = storage.roomKey('sanctions')
  const setSanction = storage.roomScript<number>('chatSetSanction', SET_SANCTION_LUA)
  const kicked = storage.roomScript<number>('chatKicked', KICKED_LUA)
  return {
    async kicked (room, user, reason) {
      await kicked(room, [storage.eventId('member.kicked'), new Date().toISOString(), JSON.stringify({ user, reason })])
    },
    async set (room, record) {
      return await setSanction(room, [`${record.kind} ${record.user}`, JSON.stringify({ until: record.until, reason: record.reason })]) === 1
    },
    async remove (room, user, kind: SanctionKind) {
      await redis.hdel(sanctionsKey(room), `${kind} ${user}`)
    },
    async ofRoom (room) {
      const all = await redis.hgetall(sanctionsKey(room))
      return Object.entries(all).map(([field, json]) => {
        const [kind, user] = field.split(' ') as [SanctionKind, string]
        const { until, reason } = JSON.parse(json) as { until: number | null, reason: string | null }
        return { user, kind, until, reason }
      }).sort((a, b) => a.kind.localeCompare(b.kind) || a.user.localeCompare(b.user))
    }
  }
}
