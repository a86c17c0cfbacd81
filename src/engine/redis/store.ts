import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Message } from '../../schemas/common.ts'
import { Refused } from '../extension.ts'
import { createAppendBatcher, type PendingAppend } from '../shared/append-batcher.ts'
import { newRoomRecord, roomObject } from '../shared/room-record.ts'
import type { Appended, ChatStore, OutboxOptions, Recovery, RoomInput, RoomPatch, RoomRecord } from '../types.ts'
import { CLIENT_ID_TTL_MS, NotFoundError, OutcomeUnknown } from '../types.ts'
import { answers, type EngineLog, failure, inOneWrite, primaryOf, type RedisClient } from './connection.ts'
import { globalKeys, roomKeys, userGrants } from './keys.ts'
import { eventIdFor } from './outbox.ts'
import type { RoomFeeds } from './room-feeds.ts'
import { type RoomScripts, TRIM_HOOK_EVERY } from './room-scripts.ts'

export interface RedisStoreOptions {
  /** A client with the engine's scripts defined. */
  redis: RedisClient
  /** Where the store's room scripts are defined, beside the features'. */
  scripts: RoomScripts
  defaultHistoryLimit: number
  /**
   * The rooms this node follows. Reads that a join depends on wait until the feed has delivered
   * up to the seq they return, so a message already counted in it is held (and skipped) by the
   * hub instead of arriving after the join as a duplicate; appends wait the same way, so a
   * sender here gets its message before its ack.
   */
  feeds: RoomFeeds
  log: EngineLog
  /** Called once the store is closed and its last command has been answered. */
  onClose: () => Promise<void>
  /** How long a clientId is remembered (CLIENT_ID_TTL_MS; shorter only in tests). */
  clientIdTtlMs?: number
  /** Event types each change records in its partition's outbox; none when absent. */
  outbox?: OutboxOptions
  /** CHAT_REDIS_ACK_REPLICAS: a message is acknowledged only once this many replicas hold it; 0 or absent: once the primary does. */
  ackReplicas?: number
}

/** How long an append waits for its replicas (WAIT) before it is answered as unconfirmed. */
export const ACK_REPLICAS_TIMEOUT_MS = 2000

/**
 * {1, seq, how far the room's seq was raised first (0: not), feature, effect, …} when stored; {0, "seq id time", the stored message or ''} when
 * the clientId was sent before; {-1, code, message} when a feature refused it; nil without the room.
 */
type AppendReply = [1, number, number, ...(string | number)[]] | [0, string, string] | [-1, Refused['code'], string] | null

const parseMessage = (member: string) => JSON.parse(member) as Message

function toRecord (id: string, hash: Record<string, string>): RoomRecord | undefined {
  if (hash.createdAt === undefined) return undefined
  return {
    id,
    name: hash.name ?? id,
    private: hash.private === '1',
    historyLimit: hash.historyLimit === undefined || hash.historyLimit === '' ? null : Number(hash.historyLimit),
    // Rooms stored before slow mode have no field: off.
    slowModeMs: Number(hash.slowModeMs ?? 0),
    // Redis alone has no retention (refused): history is bounded by historyLimit.
    retentionDays: null,
    createdAt: hash.createdAt
  }
}

/**
 * ARGV after the room: the message JSON before and after its seq, '1' when it has a clientId,
 * its TTL (ms), the message's id and time, the message.created event's id ('' = not recorded),
 * the append hooks that need the message (comma-separated), the sender, and the floor: the seq
 * this node has delivered in the room and the room's createdAt ('' when it does not follow the
 * room). Extra key: the sent key of (room, user, clientId). Checks (features may refuse), raises
 * the room's seq to the floor when it is below it (a replica promoted without the last writes
 * must not give out seqs members have seen), assigns the next seq, stores, trims, records the
 * clientId and the event, publishes the message, then runs the features' hooks, all in one step.
 */
const APPEND_LUA = `
if redis.call('EXISTS', K.room) == 0 then return false end
local sent_key = KEYS[X]
if ARGV[4] == '1' then
  local sent = redis.call('GET', sent_key)
  if sent then
    return { 0, sent, message_at(tonumber(string.match(sent, '^%d+'))) or '' }
  end
end
local flags = {}
for name in string.gmatch(ARGV[9], '[^,]+') do flags[name] = true end
local draft
local draft_json = ARGV[2] .. '0' .. ARGV[3]
local function draft_message ()
  if not draft then draft = cjson.decode(draft_json) end
  return draft
end
for _, hook in ipairs(APPEND_HOOKS) do
  if hook.check and (hook.any or flags[hook.name]) then
    local refusal = hook.check({ user = ARGV[10], message = draft_message })
    if refusal then return { -1, refusal[1], refusal[2] } end
  end
end
local raised = 0
if ARGV[11] ~= '' then
  local state = redis.call('HMGET', K.room, 'lastSeq', 'createdAt')
  local behind = tonumber(ARGV[11]) - tonumber(state[1])
  if state[2] == ARGV[12] and behind > 0 then
    redis.call('HSET', K.room, 'lastSeq', ARGV[11])
    raised = behind
  end
end
local seq = redis.call('HINCRBY', K.room, 'lastSeq', 1)
local member = ARGV[2] .. seq .. ARGV[3]
redis.call('ZADD', K.msgs, seq, member)
local keep_from = seq - history_limit() + 1
if keep_from > 1 then
  redis.call('ZREMRANGEBYSCORE', K.msgs, '-inf', keep_from - 1)
  if keep_from % ${TRIM_HOOK_EVERY} == 0 then trimmed(keep_from) end
end
if ARGV[4] == '1' then redis.call('SET', sent_key, seq .. ' ' .. ARGV[6] .. ' ' .. ARGV[7], 'PX', ARGV[5]) end
record_event(ARGV[8], 'message.created', ARGV[7], member)
publish_event('{"kind":"message","message":' .. member .. '}')
local result = { 1, seq, raised }
local message
local stored = { seq = seq, user = ARGV[10], time = ARGV[7], member = member, message = function ()
  if not message then message = cjson.decode(member) end
  return message
end }
for _, hook in ipairs(APPEND_HOOKS) do
  if hook.stored and (hook.any or flags[hook.name]) then
    local effect = hook.stored(stored)
    if effect ~= nil then
      result[#result + 1] = hook.name
      result[#result + 1] = effect
    end
  end
end
return result`

/**
 * ARGV after the room: pairs of (set?, value) for name, private, historyLimit, slowModeMs,
 * then the room.updated event's id ('' = not recorded) and its time. Merges in place so
 * concurrent patches never undo each other, and trims to the new limit (with the features'
 * trim hooks). Returns name, private, historyLimit, createdAt, slowModeMs; nil without the room.
 */
const UPDATE_ROOM_LUA = `
if redis.call('EXISTS', K.room) == 0 then return false end
if ARGV[2] == '1' then redis.call('HSET', K.room, 'name', ARGV[3]) end
if ARGV[4] == '1' then redis.call('HSET', K.room, 'private', ARGV[5]) end
if ARGV[6] == '1' then redis.call('HSET', K.room, 'historyLimit', ARGV[7]) end
if ARGV[8] == '1' then redis.call('HSET', K.room, 'slowModeMs', ARGV[9]) end
local state = redis.call('HMGET', K.room, 'name', 'private', 'historyLimit', 'createdAt', 'lastSeq', 'slowModeMs')
local slow = state[6] or '0'
local limit = tonumber(state[3]) or DEFAULT_LIMIT
local keep_from = tonumber(state[5]) - limit + 1
if keep_from > 1 then
  redis.call('ZREMRANGEBYSCORE', K.msgs, '-inf', keep_from - 1)
  trimmed(keep_from)
end
record_event(ARGV[10], 'room.updated', ARGV[11], '{"id":"' .. ROOM .. '","name":' .. cjson.encode(state[1]) ..
  ',"private":' .. (state[2] == '1' and 'true' or 'false') .. ',"historyLimit":' .. limit .. ',"slowModeMs":' .. slow .. ',"retentionDays":null' ..
  ',"online":' .. redis.call('HLEN', K.presence) .. ',"createdAt":"' .. state[4] .. '"}')
return { state[1], state[2], state[3], state[4], slow }`

/** ARGV after the room: the room.deleted event's id ('' = not recorded), its time. Deletes every key of the room (the features' too). */
const DELETE_ROOM_LUA = `
if redis.call('EXISTS', K.room) == 0 then return 0 end
for _, key in ipairs(KEYS) do
  if key ~= K.outbox then redis.call('DEL', key) end
end
record_event(ARGV[2], 'room.deleted', ARGV[3], '{"id":"' .. ROOM .. '"}')
return 1`

/** ARGV after the room: seqs. Publishes each retained one as it now is, in an updated event, in the step that reads it. */
const PUBLISH_UPDATED_LUA = `
for i = 2, #ARGV do
  local member = message_at(tonumber(ARGV[i]))
  if member then publish_updated(member) end
end
return 0`

/**
 * Rooms, grants and history in Redis, with the same semantics as the SQLite store. Appends
 * issued in one turn of the event loop go out together on the next, in one write (per node on
 * a cluster).
 *
 * The room index is a key of its own, outside every room's slot, so it is written in steps of
 * its own, ordered so that the index never lacks a room that exists: on create, the id goes in
 * before the room is made (a crash in between leaves an id without a room, which listing
 * skips) and again after (a delete of an earlier room of this id may have taken it out in
 * between); on delete, the id goes out after the room and back in if the room exists again.
 */
export function createRedisStore (options: RedisStoreOptions): ChatStore {
  const { redis, feeds, log, scripts } = options
  const defaultLimit = String(options.defaultHistoryLimit)
  const clientIdTtl = String(options.clientIdTtlMs ?? CLIENT_ID_TTL_MS)
  const outbox = options.outbox
  const ackReplicas = options.ackReplicas ?? 0
  const append = scripts.script<AppendReply>('chatAppend', APPEND_LUA, { extraKeys: 1 })

  /**
   * WAIT on each primary the batch wrote to; an error to answer its appends with when fewer
   * replicas than asked confirmed them in time (or WAIT failed), else undefined.
   */
  async function replicasMissing (written: PendingAppend[]): Promise<Error | undefined> {
    if (written.length === 0) return undefined
    try {
      const counts = await Promise.all(primariesOf(written.map((pending) => pending.room)).map((node) => node.wait(ackReplicas, ACK_REPLICAS_TIMEOUT_MS)))
      const fewest = Math.min(...counts)
      if (fewest >= ackReplicas) return undefined
      return new OutcomeUnknown(new Error(`${fewest} of the ${ackReplicas} replicas asked for confirmed it within ${ACK_REPLICAS_TIMEOUT_MS} ms`))
    } catch (err) {
      return new OutcomeUnknown(err as Error)
    }
  }

  /** The connections to the primaries that hold these rooms (the one Redis, or each owner on a cluster). */
  function primariesOf (rooms: string[]): Redis[] {
    const found = new Set<Redis>()
    for (const room of new Set(rooms)) {
      const node = primaryOf(redis, roomKeys(room).room)
      if (node !== undefined) found.add(node)
    }
    return [...found]
  }
  const updateRoom = scripts.script<[string, string, string, string, string] | null>('chatUpdateRoom', UPDATE_ROOM_LUA)
  const deleteRoom = scripts.script<number>('chatDeleteRoom', DELETE_ROOM_LUA)
  const publishUpdated = scripts.script<number>('chatPublishUpdated', PUBLISH_UPDATED_LUA)
  let closed = false
  const inFlight = new Set<Promise<void>>()

  async function writeBatch (batch: PendingAppend[]): Promise<void> {
    const drafts = batch.map(() => ({ id: randomUUID(), time: new Date().toISOString() }))
    const results = await Promise.allSettled(inOneWrite(redis, () => batch.map((pending, i) => {
      const draft = drafts[i]!
      const keys = roomKeys(pending.room)
      // The script puts the seq between the two halves, so the stored member, the published
      // event and the object resolved here are the same JSON.
      const head = `{"room":${JSON.stringify(pending.room)},"seq":`
      const clientId = pending.clientId === undefined ? '' : `,"clientId":${JSON.stringify(pending.clientId)}`
      const extra = pending.fields === undefined ? '{}' : JSON.stringify(pending.fields)
      const fields = extra === '{}' ? '' : ',' + extra.slice(1, -1)
      const tail = `,"id":${JSON.stringify(draft.id)},"user":${JSON.stringify(pending.user)},` +
        `"text":${JSON.stringify(pending.text)},"time":${JSON.stringify(draft.time)}${clientId}${fields}}`
      const floor = feeds.floor(pending.room)
      return append(pending.room, [head, tail, pending.clientId === undefined ? '0' : '1', clientIdTtl, draft.id, draft.time,
        eventIdFor(outbox, 'message.created'), scripts.flagsFor(pending.fields), pending.user, floor?.seq ?? '', floor?.createdAt ?? ''],
      [keys.sent(pending.user, pending.clientId ?? '')])
    })))
    // Senders here hear back after their message has reached this node's listeners, as with
    // the local engine: the message frame comes before the ack.
    const highest = new Map<string, number>()
    results.forEach((result, i) => {
      if (result.status !== 'fulfilled' || result.value === null || result.value[0] !== 1) return
      const room = batch[i]!.room
      highest.set(room, Math.max(highest.get(room) ?? 0, Number(result.value[1])))
    })
    await Promise.all([...highest].map(([room, seq]) => feeds.caughtUp(room, seq)
      .catch((err: unknown) => log.warn({ err, room }, 'a stored message did not come back over its channel'))))
    // With CHAT_REDIS_ACK_REPLICAS, nothing is acknowledged (a repeat included) before that many
    // replicas hold it: WAIT counts the replicas that have every write of the connection so far.
    const unconfirmed = ackReplicas > 0 ? await replicasMissing(batch.filter((_pending, i) => results[i]!.status === 'fulfilled')) : undefined
    batch.forEach((pending, i) => {
      const result = results[i]!
      if (result.status === 'rejected') return pending.reject(failure(result.reason as Error))
      if (unconfirmed !== undefined && result.value !== null && result.value[0] !== -1) return pending.reject(unconfirmed)
      const reply = result.value
      if (reply === null) return pending.reject(new NotFoundError(`room ${pending.room} does not exist`))
      if (reply[0] === -1) return pending.reject(new Refused(reply[1], reply[2]))
      pending.resolve(reply[0] === 1 ? stored(pending, drafts[i]!, reply) : repeated(pending, reply[1], reply[2]))
    })
  }

  function stored (pending: PendingAppend, draft: { id: string, time: string }, reply: [1, number, number, ...(string | number)[]]): Appended {
    const message: Message = { room: pending.room, seq: Number(reply[1]), id: draft.id, user: pending.user, text: pending.text, time: draft.time }
    if (pending.clientId !== undefined) message.clientId = pending.clientId
    if (pending.fields !== undefined) Object.assign(message, pending.fields)
    const raised = Number(reply[2])
    if (raised > 0) {
      // The seqs skipped were delivered by this node and are gone from Redis: lost.
      feeds.stats.seqRaises++
      feeds.stats.lostSeqs += raised
      log.error({ room: pending.room, raised, seq: message.seq },
        'the room\'s seq in Redis was behind what this node delivered (a failover to a replica that lacked the last writes?): raised, not reused')
    }
    if (reply.length === 3) return { message, duplicate: false }
    const effects: Record<string, unknown> = {}
    for (let i = 3; i < reply.length; i += 2) effects[String(reply[i])] = reply[i + 1]
    return { message, duplicate: false, effects }
  }

  /** The first message of a repeated clientId, as it is now; rebuilt from the sent key when trimmed. */
  function repeated (pending: PendingAppend, sent: string, member: string): Appended {
    if (member !== '') return { message: parseMessage(member), duplicate: true }
    const [seq, id, time] = sent.split(' ') as [string, string, string]
    return {
      message: { room: pending.room, seq: Number(seq), id, user: pending.user, text: pending.text, time, clientId: pending.clientId },
      duplicate: true
    }
  }

  const batcher = createAppendBatcher((batch) => {
    const done = writeBatch(batch).finally(() => inFlight.delete(done))
    inFlight.add(done)
  })

  async function room (id: string): Promise<RoomRecord | undefined> {
    return toRecord(id, await redis.hgetall(roomKeys(id).room))
  }

  async function changedSince (room: string, since: number): Promise<Message[]> {
    if (since === 0) return []
    const keys = roomKeys(room)
    return (await redis.chatChangedSince(keys.changes, keys.messages, String(since))).map(parseMessage).sort((a, b) => a.seq - b.seq)
  }

  return {
    async createRoom (input: RoomInput) {
      const record = newRoomRecord(input)
      await redis.zadd(globalKeys.rooms, 0, record.id)
      const keys = roomKeys(record.id)
      const eventId = eventIdFor(outbox, 'room.created')
      const created = await redis.chatCreateRoom(keys.room, keys.outbox, record.name,
        record.private ? '1' : '0', record.historyLimit === null ? '' : String(record.historyLimit), record.createdAt,
        eventId, record.id, eventId === '' ? '' : JSON.stringify(roomObject(record, options.defaultHistoryLimit, 0)), String(record.slowModeMs))
      if (created !== 1) return undefined
      await redis.zadd(globalKeys.rooms, 0, record.id)
      return record
    },
    getRoom: room,
    async listRooms (limit, afterId = '') {
      const ids = await redis.zrangebylex(globalKeys.rooms, afterId === '' ? '-' : `(${afterId}`, '+', 'LIMIT', 0, limit + 1)
      const page = ids.slice(0, limit)
      const hashes = await Promise.all(page.map((id) => redis.hgetall(roomKeys(id).room)))
      const rooms: RoomRecord[] = []
      page.forEach((id, i) => {
        // An id whose room is missing (deleted meanwhile, or a create cut short) is left out.
        const record = toRecord(id, hashes[i]!)
        if (record !== undefined) rooms.push(record)
      })
      return { rooms, hasMore: ids.length > limit }
    },
    async updateRoom (id, patch: RoomPatch) {
      const flag = (value: unknown) => (value === undefined ? '0' : '1')
      const result = await updateRoom(id, [
        flag(patch.name), patch.name ?? '',
        flag(patch.private), patch.private === true ? '1' : '0',
        flag(patch.historyLimit), patch.historyLimit === undefined || patch.historyLimit === null ? '' : String(patch.historyLimit),
        flag(patch.slowModeMs), String(patch.slowModeMs ?? 0),
        eventIdFor(outbox, 'room.updated'), new Date().toISOString()])
      if (result === null) return undefined
      const [name, priv, historyLimit, createdAt, slowModeMs] = result
      return toRecord(id, { name, private: priv, historyLimit, createdAt, slowModeMs })
    },
    async deleteRoom (id) {
      // Appends still queued for this room fail with NotFoundError when their batch runs.
      const deleted = await deleteRoom(id, [eventIdFor(outbox, 'room.deleted'), new Date().toISOString()]) === 1
      await redis.zrem(globalKeys.rooms, id)
      if (await redis.exists(roomKeys(id).room) === 1) await redis.zadd(globalKeys.rooms, 0, id)
      return deleted
    },
    async setGrant (roomId, user) {
      const keys = roomKeys(roomId)
      // The user's index first (its own slot): an entry whose grant then fails is skipped when read.
      await redis.sadd(userGrants(user), roomId)
      const done = await redis.chatSetGrant(keys.room, keys.grants, user)
      if (done === null) throw new NotFoundError(`room ${roomId} does not exist`)
    },
    async deleteGrant (roomId, user) {
      const keys = roomKeys(roomId)
      await redis.chatRevokeGrant(keys.grants, keys.presence, keys.outbox, user, eventIdFor(outbox, 'member.kicked'),
        new Date().toISOString(), roomId, 'access revoked')
      await redis.srem(userGrants(user), roomId)
    },
    async hasGrant (roomId, user) {
      return await redis.sismember(roomKeys(roomId).grants, user) === 1
    },
    async grantedRooms (user) {
      const rooms = (await redis.smembers(userGrants(user))).sort()
      const held = await Promise.all(rooms.map((room) => redis.sismember(roomKeys(room).grants, user)))
      const stale = rooms.filter((_room, i) => held[i] !== 1)
      // A room deleted, or a grant that failed or was revoked: the index forgets it.
      if (stale.length > 0) await redis.srem(userGrants(user), ...stale)
      return rooms.filter((_room, i) => held[i] === 1)
    },
    append (roomId, user, text, appendOptions = {}) {
      if (closed) return Promise.reject(new Error('store is closed'))
      return batcher.append(roomId, user, text, appendOptions)
    },
    async latestSeq (roomId) {
      const seq = await redis.hget(roomKeys(roomId).room, 'lastSeq')
      const latest = seq === null ? 0 : Number(seq)
      await feeds.caughtUp(roomId, latest)
      return latest
    },
    async message (roomId, seq) {
      const [member] = await redis.zrangebyscore(roomKeys(roomId).messages, seq, seq)
      return member === undefined ? undefined : parseMessage(member)
    },
    async history (roomId, limit, before) {
      const max = before === undefined ? '+inf' : `(${before}`
      const members = await redis.zrevrangebyscore(roomKeys(roomId).messages, max, '-inf', 'LIMIT', 0, limit)
      return members.reverse().map(parseMessage)
    },
    async recover (roomId, since): Promise<Recovery> {
      const keys = roomKeys(roomId)
      const [reply, changed] = await Promise.all([
        redis.chatRecover(keys.room, keys.messages, String(since), defaultLimit),
        changedSince(roomId, since)
      ])
      const latestSeq = Number(reply[0])
      if (latestSeq < 0) return { latestSeq: 0, changed: [], messages: [], recovered: since === 0 }
      await feeds.caughtUp(roomId, latestSeq)
      if (since >= latestSeq) return { latestSeq, changed, messages: [], recovered: since === latestSeq }
      const oldest = Number(reply[1])
      const messages = (reply.slice(2) as string[]).map(parseMessage)
      // Every seq after since is there, with no hole a failover to a lagging replica could leave.
      const whole = messages.every((message, i) => message.seq === since + 1 + i)
      return { latestSeq, changed, messages, recovered: oldest > 0 && oldest <= since + 1 && whole }
    },
    async publishUpdated (roomId, seqs) {
      if (seqs.length > 0) await publishUpdated(roomId, seqs)
    },
    async ready () {
      return !closed && await answers(redis)
    },
    async close () {
      if (closed) return
      closed = true
      batcher.flush()
      await Promise.allSettled([...inFlight])
      await options.onClose()
    }
  }
}
