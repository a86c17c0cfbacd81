import { inOneWrite } from '../../engine/redis/connection.ts'
import { PREFIX } from '../../engine/redis/keys.ts'
import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { ReadStore, UnreadEntry } from './store.ts'

/**
 * The rooms where the user has a read seq, in the user's own slot: written before the read seq
 * (in another slot), so it may name rooms without one, which are skipped when read.
 */
const userRooms = (user: string) => `${PREFIX}user:${user}:rooms`

/** ARGV after the room: user, seq. 1 moved, 0 not forward, -1 no such room. */
const MOVE_READ_LUA = `
if redis.call('EXISTS', K.room) == 0 then return -1 end
local current = tonumber(redis.call('HGET', K.reads, ARGV[2]))
if current and current >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', K.reads, ARGV[2], ARGV[3])
return 1`

/** ARGV after the room: user. {latest seq, read seq}, or nil without either. */
const UNREAD_OF_LUA = `
local latest = redis.call('HGET', K.room, 'lastSeq')
local read = redis.call('HGET', K.reads, ARGV[2])
if not latest or not read then return false end
return { tonumber(latest), tonumber(read) }`

/**
 * The sender's read seq moves to its message in the append script, when it has one here
 * already: a first one must go into the user's room index first, which is outside this slot,
 * so it is left to saveReads.
 */
const SENDER_READ_LUA = `function (m)
  local current = tonumber(redis.call('HGET', K.reads, m.user))
  if not current then return nil end
  if current < m.seq then redis.call('HSET', K.reads, m.user, m.seq) end
  return 1
end`

/**
 * Read seqs in Redis: per room a hash user → read seq (`chat:{pN}:reads:<room>`), and per user
 * the set of rooms where it has one (`chat:user:<user>:rooms`, a key of its own slot).
 */
export function redisReads (storage: RedisStorage): ReadStore {
  const { redis } = storage
  const readsKey = storage.roomKey('reads')
  const moveRead = storage.roomScript<number>('chatMoveRead', MOVE_READ_LUA)
  const unreadOf = storage.roomScript<[number, number] | null>('chatUnreadOf', UNREAD_OF_LUA)
  storage.onAppend('read-state', { stored: SENDER_READ_LUA })

  return {
    async readSeq (room, user) {
      const seq = await redis.hget(readsKey(room), user)
      return seq === null ? undefined : Number(seq)
    },

    async saveReads (moves) {
      // The user's room index is written first: an entry for a move that then fails is
      // skipped when read, while a read seq missing from the index would never be listed.
      await Promise.all(inOneWrite(redis, () => moves.map((move) => redis.sadd(userRooms(move.user), move.room))))
      const results = await Promise.all(inOneWrite(redis, () => moves.map((move) => moveRead(move.room, [move.user, move.seq]))))
      return moves.filter((_move, i) => results[i] === 1)
    },

    async reads (room) {
      const entries = Object.entries(await redis.hgetall(readsKey(room)))
      return entries.map(([user, seq]) => ({ user, seq: Number(seq) })).sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0))
    },

    async unread (user) {
      const rooms = (await redis.smembers(userRooms(user))).sort()
      const states = await Promise.all(rooms.map((room) => unreadOf(room, [user])))
      const result: UnreadEntry[] = []
      rooms.forEach((room, i) => {
        const state = states[i]
        if (state === null || state === undefined) return
        const [seq, readSeq] = state
        result.push({ room, seq, readSeq, unread: Math.max(0, seq - readSeq) })
      })
      return result
    }
  }
}
