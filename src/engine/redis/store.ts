import { randomUUID } from 'node:crypto'
import type { Message } from '../../schemas/common.ts'
import type { Appended, ChatStore, OutboxOptions, Recovery, RoomInput, RoomPatch, RoomRecord } from '../types.ts'
import { CLIENT_ID_TTL_MS, NotFoundError } from '../types.ts'
import { answers, type EngineLog, inOneWrite, type RedisClient } from './connection.ts'
import { globalKeys, roomKeys } from './keys.ts'
import type { PublishCommand } from './broker.ts'
import type { RoomFeeds } from './room-feeds.ts'
import { createAppendBatcher, type PendingAppend } from '../shared/append-batcher.ts'
import { createRedisChatState } from './chat-state.ts'
import { newRoomRecord, roomObject } from '../shared/room-record.ts'
import { eventIdFor } from './outbox.ts'

export interface RedisStoreOptions {
  /** A client with the engine's scripts defined. */
  redis: RedisClient
  publish: PublishCommand
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
}

type AppendReply = [1, number, 0 | 1] | [0, string, string] | null

const parseMessage = (member: string) => JSON.parse(member) as Message

function toRecord (id: string, hash: Record<string, string>): RoomRecord | undefined {
  if (hash.createdAt === undefined) return undefined
  return {
    id,
    name: hash.name ?? id,
    private: hash.private === '1',
    historyLimit: hash.historyLimit === undefined || hash.historyLimit === '' ? null : Number(hash.historyLimit),
    createdAt: hash.createdAt
  }
}

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
  const { redis, feeds, publish, log } = options
  const defaultLimit = String(options.defaultHistoryLimit)
  const clientIdTtl = String(options.clientIdTtlMs ?? CLIENT_ID_TTL_MS)
  const outbox = options.outbox
  const { changedSince, ...chatState } = createRedisChatState(redis, options.defaultHistoryLimit, publish, outbox)
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
      const tail = `,"id":${JSON.stringify(draft.id)},"user":${JSON.stringify(pending.user)},` +
        `"text":${JSON.stringify(pending.text)},"time":${JSON.stringify(draft.time)}${clientId}}`
      return redis.chatAppend(keys.room, keys.messages, keys.sent(pending.user, pending.clientId ?? ''), keys.outbox, keys.reads, head, tail,
        defaultLimit, keys.channel, publish, pending.clientId === undefined ? '0' : '1', clientIdTtl, draft.id, draft.time,
        eventIdFor(outbox, 'message.created'), pending.room, pending.moveSenderRead ? pending.user : '')
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
    batch.forEach((pending, i) => {
      const result = results[i]!
      if (result.status === 'rejected') return pending.reject(result.reason as Error)
      const reply = result.value as AppendReply
      if (reply === null) return pending.reject(new NotFoundError(`room ${pending.room} does not exist`))
      pending.resolve(reply[0] === 1 ? stored(pending, drafts[i]!, Number(reply[1]), reply[2] === 1) : repeated(pending, reply[1], reply[2]))
    })
  }

  function stored (pending: PendingAppend, draft: { id: string, time: string }, seq: number, senderRead: boolean): Appended {
    const message: Message = { room: pending.room, seq, id: draft.id, user: pending.user, text: pending.text, time: draft.time }
    if (pending.clientId !== undefined) message.clientId = pending.clientId
    return senderRead ? { message, duplicate: false, senderRead } : { message, duplicate: false }
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

  return {
    ...chatState,
    async createRoom (input: RoomInput) {
      const record = newRoomRecord(input)
      await redis.zadd(globalKeys.rooms, 0, record.id)
      const keys = roomKeys(record.id)
      const eventId = eventIdFor(outbox, 'room.created')
      const created = await redis.chatCreateRoom(keys.room, keys.outbox, record.name,
        record.private ? '1' : '0', record.historyLimit === null ? '' : String(record.historyLimit), record.createdAt,
        eventId, record.id, eventId === '' ? '' : JSON.stringify(roomObject(record, options.defaultHistoryLimit, 0)))
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
      const keys = roomKeys(id)
      const result = await redis.chatUpdateRoom(keys.room, keys.messages, keys.presence, keys.outbox,
        flag(patch.name), patch.name ?? '',
        flag(patch.private), patch.private === true ? '1' : '0',
        flag(patch.historyLimit), patch.historyLimit === undefined || patch.historyLimit === null ? '' : String(patch.historyLimit),
        defaultLimit, eventIdFor(outbox, 'room.updated'), new Date().toISOString(), id)
      if (result === null) return undefined
      const [name, priv, historyLimit, createdAt] = result
      return toRecord(id, { name, private: priv, historyLimit, createdAt })
    },
    async deleteRoom (id) {
      const keys = roomKeys(id)
      // Appends still queued for this room fail with NotFoundError when their batch runs.
      const deleted = await redis.chatDeleteRoom(keys.room, keys.messages, keys.grants, keys.presence,
        keys.changes, keys.reads, keys.typing, keys.outbox, eventIdFor(outbox, 'room.deleted'), new Date().toISOString(), id) === 1
      await redis.zrem(globalKeys.rooms, id)
      if (await redis.exists(keys.room) === 1) await redis.zadd(globalKeys.rooms, 0, id)
      return deleted
    },
    async setGrant (roomId, user) {
      const keys = roomKeys(roomId)
      const done = await redis.chatSetGrant(keys.room, keys.grants, user)
      if (done === null) throw new NotFoundError(`room ${roomId} does not exist`)
    },
    async deleteGrant (roomId, user) {
      const keys = roomKeys(roomId)
      await redis.chatRevokeGrant(keys.grants, keys.presence, keys.outbox, user, eventIdFor(outbox, 'member.kicked'),
        new Date().toISOString(), roomId, 'access revoked')
    },
    async hasGrant (roomId, user) {
      return await redis.sismember(roomKeys(roomId).grants, user) === 1
    },
    append (roomId, user, text, clientId, moveSenderRead) {
      if (closed) return Promise.reject(new Error('store is closed'))
      return batcher.append(roomId, user, text, clientId, moveSenderRead)
    },
    async latestSeq (roomId) {
      const seq = await redis.hget(roomKeys(roomId).room, 'lastSeq')
      const latest = seq === null ? 0 : Number(seq)
      await feeds.caughtUp(roomId, latest)
      return latest
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
      return { latestSeq, changed, messages, recovered: oldest > 0 && oldest <= since + 1 }
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
