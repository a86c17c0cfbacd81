import { PREFIX } from '../../engine/redis/keys.ts'
import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { Message } from '../../schemas/common.ts'
import type { ReportRecord, ReportsStore } from './store.ts'

/** The queue, across rooms: report ids by time, and each id's room (each key in a slot of its own). */
const QUEUE = `${PREFIX}reports`
const ROOM_OF = `${PREFIX}report-rooms`

/**
 * ARGV after the room: seq, id, JSON of the report without its message, event id, time.
 * Stores the report with the message as it is and records message.reported; 0 when the
 * message is not retained or was deleted.
 */
const ADD_LUA = `
local member = message_at(tonumber(ARGV[2]))
if not member then return 0 end
local message = decode(member)
if message.deleted then return 0 end
local report = decode(ARGV[4])
report.message = message
redis.call('HSET', K.reports, ARGV[3], encode(report))
record_event(ARGV[5], 'message.reported', ARGV[6],
  '{"id":' .. cjson.encode(ARGV[3]) .. ',"seq":' .. ARGV[2] .. ',"reporter":' .. cjson.encode(report.reporter) .. ',"reason":' .. (report.reason == cjson.null and 'null' or cjson.encode(report.reason)) .. '}')
return 1`

/**
 * Reports in Redis: each in its room's hash (`chat:{pN}:reports:<room>`, id → JSON, written with
 * its event by one room script, gone with the room), and the queue across rooms in `chat:reports`
 * (sorted set by time) and `chat:report-rooms` (id → room), written first: an entry whose report
 * is missing (a failed add, a deleted room) is dropped when the queue is read.
 */
export function redisReports (storage: RedisStorage): ReportsStore {
  const { redis } = storage
  const reportsKey = storage.roomKey('reports')
  const add = storage.roomScript<number>('chatReport', ADD_LUA)

  async function read (id: string, room: string | null): Promise<ReportRecord | undefined> {
    const text = room === null ? null : await redis.hget(reportsKey(room), id)
    if (text === null) {
      await redis.zrem(QUEUE, id)
      await redis.hdel(ROOM_OF, id)
      return undefined
    }
    return JSON.parse(text) as ReportRecord
  }

  return {
    async add (room, seq, reporter, reason, id, time) {
      await redis.hset(ROOM_OF, id, room)
      await redis.zadd(QUEUE, Date.parse(time), id)
      const report = { id, room, seq, reporter, reason, time }
      if (await add(room, [seq, id, JSON.stringify(report), storage.eventId('message.reported'), time]) !== 1) {
        await redis.zrem(QUEUE, id)
        await redis.hdel(ROOM_OF, id)
        return { outcome: 'not_found' }
      }
      const stored = await redis.hget(reportsKey(room), id)
      return { outcome: 'reported', report: { ...report, message: (JSON.parse(stored ?? '{}') as { message: Message }).message } }
    },
    async open (limit) {
      const ids = await redis.zrange(QUEUE, 0, limit - 1)
      if (ids.length === 0) return []
      const rooms = await redis.hmget(ROOM_OF, ...ids)
      const found = await Promise.all(ids.map((id, i) => read(id, rooms[i] ?? null)))
      return found.filter((report): report is ReportRecord => report !== undefined)
    },
    async get (id) {
      return await read(id, await redis.hget(ROOM_OF, id))
    },
    async close (id) {
      const room = await redis.hget(ROOM_OF, id)
      if (room !== null) await redis.hdel(reportsKey(room), id)
      await redis.zrem(QUEUE, id)
      await redis.hdel(ROOM_OF, id)
    }
  }
}
