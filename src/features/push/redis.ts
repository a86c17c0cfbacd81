import type { RedisClient } from '../../engine/redis/connection.ts'
import { PREFIX } from '../../engine/redis/keys.ts'
import type { RedisStorage } from '../../engine/redis/storage.ts'
import type { NotifyLevel, PushSubscription } from './schemas.ts'
import type { Delivery, DueOptions, Made, Notification, PushStore } from './store.ts'

/**
 * Push in Redis. Everything but the levels shares one hash tag, `{push}`, so on a cluster it is
 * one slot and each step is one script: `subs:<user>` (hash endpoint → keys JSON), `owners`
 * (hash endpoint → user), `w:<room> <user>` (the window: JSON `{e: end, s?: seq, p?: payload}`,
 * expiring with the window unless a notification waits in it), `ends` (sorted set of
 * "room NUL user" with a waiting notification, by window end), `queue` (sorted set of delivery
 * ids by when due; a taken one is pushed back by its lease), `deliveries` (hash id → JSON) and
 * `next-id`. Levels are a key of each room (`pushlevels`), deleted with it.
 */
const P = `${PREFIX}{push}:`
const KEYS = { owners: `${P}owners`, ends: `${P}ends`, queue: `${P}queue`, deliveries: `${P}deliveries`, nextId: `${P}next-id` }
/** A window with a notification waiting outlives its end by this long, so that a stopped deployment still sends it when it starts again. */
const WAITING_TTL_MS = 24 * 3600 * 1000

/** KEYS: ends, queue, deliveries, next-id. ARGV[1..4]: now, window, push (1/0), prefix. Makes one notification due. */
const DUE_LUA = `
local now, window, push, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1', ARGV[4]
local function queue (user, room, seq, payload)
  if not push then return 0 end
  local endpoints = redis.call('HKEYS', prefix .. 'subs:' .. user)
  for _, endpoint in ipairs(endpoints) do
    local id = redis.call('INCR', KEYS[4])
    redis.call('HSET', KEYS[3], id, cjson.encode({u = user, r = room, s = seq, p = payload, e = endpoint, a = 0, c = now}))
    redis.call('ZADD', KEYS[2], now, id)
  end
  return #endpoints
end
local function open (room, user)
  redis.call('SET', prefix .. 'w:' .. room .. ' ' .. user, cjson.encode({e = now + window}), 'PX', window)
end`

/** ARGV[5…]: room, user, seq, payload of each. Returns the indexes (from 0) of those due now, then the deliveries queued. */
const NOTE_LUA = `${DUE_LUA}
local due, queued = {}, 0
for i = 5, #ARGV, 4 do
  local room, user, seq, payload = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  local key = prefix .. 'w:' .. room .. ' ' .. user
  local current = redis.call('GET', key)
  if not current then
    open(room, user)
    due[#due + 1] = (i - 5) / 4
    queued = queued + queue(user, room, seq, payload)
  else
    local w = cjson.decode(current)
    if not w.s or seq > w.s then
      w.s, w.p = seq, payload
      redis.call('SET', key, cjson.encode(w), 'PX', math.max(1, w.e - now) + ${WAITING_TTL_MS})
      redis.call('ZADD', KEYS[1], w.e, room .. '\\0' .. user)
    end
  end
end
due[#due + 1] = queued
return due`

/** ARGV[5]: limit. Returns room, user, seq, payload of each notification made due, then the deliveries queued. */
const FLUSH_LUA = `${DUE_LUA}
local out, queued = {}, 0
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))) do
  redis.call('ZREM', KEYS[1], member)
  local cut = string.find(member, '\\0', 1, true)
  local room, user = string.sub(member, 1, cut - 1), string.sub(member, cut + 1)
  local current = redis.call('GET', prefix .. 'w:' .. room .. ' ' .. user)
  local w = current and cjson.decode(current)
  if w and w.s then
    open(room, user)
    queued = queued + queue(user, room, w.s, w.p)
    out[#out + 1] = room
    out[#out + 1] = user
    out[#out + 1] = tostring(w.s)
    out[#out + 1] = w.p
  end
end
out[#out + 1] = queued
return out`

/** KEYS: queue, deliveries. ARGV: now, lease, limit, prefix. Lends due deliveries: id, JSON, keys JSON of each. */
const TAKE_LUA = `
local now, out = tonumber(ARGV[1]), {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))) do
  local json = redis.call('HGET', KEYS[2], id)
  local d = json and cjson.decode(json)
  local keys = d and redis.call('HGET', ARGV[4] .. 'subs:' .. d.u, d.e)
  if keys then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    out[#out + 1] = id
    out[#out + 1] = json
    out[#out + 1] = keys
  else
    -- Its subscription is gone (or moved to another user): nothing to send.
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
  end
end
return out`

/** KEYS: queue, deliveries. ARGV: id, attempts, at. */
const RETRY_LUA = `
local json = redis.call('HGET', KEYS[2], ARGV[1])
if not json then return 0 end
local d = cjson.decode(json)
d.a = tonumber(ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(d))
redis.call('ZADD', KEYS[1], tonumber(ARGV[3]), ARGV[1])
return 1`

/** KEYS: owners. ARGV: prefix, user, endpoint, keys JSON. An endpoint moves from its former user. */
const SUBSCRIBE_LUA = `
local former = redis.call('HGET', KEYS[1], ARGV[3])
if former and former ~= ARGV[2] then redis.call('HDEL', ARGV[1] .. 'subs:' .. former, ARGV[3]) end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[2])
redis.call('HSET', ARGV[1] .. 'subs:' .. ARGV[2], ARGV[3], ARGV[4])
return 1`

/** KEYS: owners. ARGV: prefix, endpoint, user ('' = whoever owns it). */
const UNSUBSCRIBE_LUA = `
local owner = redis.call('HGET', KEYS[1], ARGV[2])
if not owner or (ARGV[3] ~= '' and owner ~= ARGV[3]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('HDEL', ARGV[1] .. 'subs:' .. owner, ARGV[2])
return 1`

/** ARGV after the room: level. 0 when the room is gone. */
const SET_LEVEL_LUA = `
if redis.call('EXISTS', K.room) == 0 then return 0 end
if ARGV[2] == 'all' then redis.call('HDEL', K.pushlevels, ARGV[3]) else redis.call('HSET', K.pushlevels, ARGV[3], ARGV[2]) end
return 1`

const AUDIENCE_LUA = 'return {redis.call(\'SMEMBERS\', K.grants), redis.call(\'HGETALL\', K.pushlevels)}'

/** ARGV after the room: time, then event id and data JSON of each notification due. */
const EVENTS_LUA = `
for i = 3, #ARGV, 2 do record_event(ARGV[i], 'notification.due', ARGV[2], ARGV[i + 1]) end
return 1`

interface PushCommands {
  chatPushNote (...args: (string | number)[]): Promise<(string | number)[]>
  chatPushFlush (...args: (string | number)[]): Promise<(string | number)[]>
  chatPushTake (...args: (string | number)[]): Promise<string[]>
  chatPushRetry (...args: (string | number)[]): Promise<number>
  chatPushSubscribe (...args: string[]): Promise<number>
  chatPushUnsubscribe (...args: string[]): Promise<number>
}

interface StoredDelivery { u: string, r: string, s: number, p: string, e: string, a: number, c: number }

/** Push on Redis (single or cluster): the `{push}` scripts, and a room script for the webhook events. */
export function redisPush (storage: RedisStorage): PushStore {
  const redis = storage.redis as RedisClient & PushCommands
  const scripts: Record<keyof PushCommands, { numberOfKeys: number, lua: string }> = {
    chatPushNote: { numberOfKeys: 4, lua: NOTE_LUA },
    chatPushFlush: { numberOfKeys: 4, lua: FLUSH_LUA },
    chatPushTake: { numberOfKeys: 2, lua: TAKE_LUA },
    chatPushRetry: { numberOfKeys: 2, lua: RETRY_LUA },
    chatPushSubscribe: { numberOfKeys: 1, lua: SUBSCRIBE_LUA },
    chatPushUnsubscribe: { numberOfKeys: 1, lua: UNSUBSCRIBE_LUA }
  }
  for (const [name, script] of Object.entries(scripts)) redis.defineCommand(name, script)
  storage.roomKey('pushlevels')
  const setLevel = storage.roomScript<number>('chatPushSetLevel', SET_LEVEL_LUA)
  const audience = storage.roomScript<[string[], string[]]>('chatPushAudience', AUDIENCE_LUA)
  const recordEvents = storage.roomScript<number>('chatPushEvents', EVENTS_LUA)
  const dueKeys = [KEYS.ends, KEYS.queue, KEYS.deliveries, KEYS.nextId]
  const dueArgs = (options: DueOptions) => [options.now, options.windowMs, options.push ? 1 : 0, P]

  /** The `notification.due` events of what a step made due, one room script per room (after the step: a crash between loses only the events). */
  async function record (due: Notification[], now: number): Promise<void> {
    if (due.length === 0 || storage.eventId('notification.due') === '') return
    const byRoom = new Map<string, Notification[]>()
    for (const item of due) byRoom.set(item.room, [...byRoom.get(item.room) ?? [], item])
    const time = new Date(now).toISOString()
    await Promise.all([...byRoom].map(([room, items]) => recordEvents(room, [time,
      ...items.flatMap((item) => [storage.eventId('notification.due'), JSON.stringify({ user: item.user, seq: item.seq })])])))
  }

  return {
    async subscribe (user, subscription) {
      await redis.chatPushSubscribe(KEYS.owners, P, user, subscription.endpoint, JSON.stringify(subscription.keys))
    },
    async unsubscribe (user, endpoint) {
      await redis.chatPushUnsubscribe(KEYS.owners, P, endpoint, user)
    },
    async subscriptionsOf (user) {
      const all = await redis.hgetall(`${P}subs:${user}`)
      return Object.keys(all).sort().map((endpoint): PushSubscription => ({ endpoint, keys: JSON.parse(all[endpoint]!) as PushSubscription['keys'] }))
    },
    async setLevel (room, user, level) {
      return await setLevel(room, [level, user]) === 1
    },
    async audience (room) {
      const [grantees, flat] = await audience(room, [])
      const levels: Record<string, NotifyLevel> = {}
      for (let i = 0; i < flat.length; i += 2) levels[flat[i]!] = flat[i + 1] as NotifyLevel
      return { grantees, levels }
    },
    async note (items, options) {
      if (items.length === 0) return { due: [], queued: 0 }
      const reply = await redis.chatPushNote(...dueKeys, ...dueArgs(options),
        ...items.flatMap((item) => [item.room, item.user, item.seq, item.payload]))
      const queued = Number(reply.pop())
      const made: Made = { due: reply.map((index) => items[Number(index)]!), queued }
      await record(made.due, options.now)
      return made
    },
    async flushEnded (options, limit) {
      const reply = await redis.chatPushFlush(...dueKeys, ...dueArgs(options), limit)
      const queued = Number(reply.pop())
      const due: Notification[] = []
      for (let i = 0; i < reply.length; i += 4) {
        due.push({ room: String(reply[i]), user: String(reply[i + 1]), seq: Number(reply[i + 2]), payload: String(reply[i + 3]) })
      }
      await record(due, options.now)
      return { due, queued }
    },
    async take (limit, leaseMs, now) {
      const reply = await redis.chatPushTake(KEYS.queue, KEYS.deliveries, now, leaseMs, limit, P)
      const taken: Delivery[] = []
      for (let i = 0; i < reply.length; i += 3) {
        const stored = JSON.parse(reply[i + 1]!) as StoredDelivery
        taken.push({
          id: reply[i]!,
          user: stored.u,
          room: stored.r,
          seq: stored.s,
          subscription: { endpoint: stored.e, keys: JSON.parse(reply[i + 2]!) as PushSubscription['keys'] },
          payload: stored.p,
          attempts: stored.a,
          createdAt: stored.c
        })
      }
      return taken
    },
    async finish (ids) {
      if (ids.length > 0) await redis.multi().zrem(KEYS.queue, ...ids).hdel(KEYS.deliveries, ...ids).exec()
    },
    async retryAt (id, attempts, at) {
      await redis.chatPushRetry(KEYS.queue, KEYS.deliveries, id, attempts, at)
    },
    async dropSubscription (endpoint) {
      // Its queued deliveries go when they are next due (take finds no subscription for them).
      await redis.chatPushUnsubscribe(KEYS.owners, P, endpoint, '')
    },
    async pending () {
      return await redis.zcard(KEYS.queue)
    }
  }
}
