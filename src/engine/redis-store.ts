import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Message } from '../schemas/common.ts'
import type { Appended, ChatStore, Recovery, RoomInput, RoomPatch, RoomRecord } from './types.ts'
import { CLIENT_ID_TTL_MS, NotFoundError } from './types.ts'
import { answers, redisKeys as keys } from './redis-scripts.ts'
import { createAppendBatcher, type PendingAppend } from '../storage/append-batcher.ts'
import { createRedisChatState } from './redis-chat-state.ts'
import { newRoomRecord } from './room-record.ts'

export interface RedisStoreOptions {
  /** A connection with the engine's scripts defined. */
  redis: Redis
  defaultHistoryLimit: number
  /**
   * Resolves once every event published before the call has reached this node's listeners.
   * Reads that a join depends on wait for it, so a message already counted in the seq they
   * return is held (and skipped) by the hub instead of arriving after the join as a duplicate.
   */
  barrier: () => Promise<void>
  /** Called once the store is closed and its last command has been answered. */
  onClose: () => Promise<void>
  /** How long a clientId is remembered (CLIENT_ID_TTL_MS; shorter only in tests). */
  clientIdTtlMs?: number
}

type AppendReply = [1, number] | [0, string, string] | null


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
 * issued in one turn of the event loop go out as one pipeline of append scripts on the next.
 */
export function createRedisStore (options: RedisStoreOptions): ChatStore {
  const { redis, barrier } = options
  const defaultLimit = String(options.defaultHistoryLimit)
  const clientIdTtl = String(options.clientIdTtlMs ?? CLIENT_ID_TTL_MS)
  const { changedSince, ...chatState } = createRedisChatState(redis, options.defaultHistoryLimit)
  let closed = false
  const inFlight = new Set<Promise<void>>()

  async function writeBatch (batch: PendingAppend[]): Promise<void> {
    const pipeline = redis.pipeline()
    const drafts = batch.map((pending) => {
      const draft = { id: randomUUID(), time: new Date().toISOString() }
      // The script puts the seq between the two halves, so the stored member, the published
      // event and the object resolved here are the same JSON.
      const head = `{"room":${JSON.stringify(pending.room)},"seq":`
      const clientId = pending.clientId === undefined ? '' : `,"clientId":${JSON.stringify(pending.clientId)}`
      const tail = `,"id":${JSON.stringify(draft.id)},"user":${JSON.stringify(pending.user)},` +
        `"text":${JSON.stringify(pending.text)},"time":${JSON.stringify(draft.time)}${clientId}}`
      pipeline.chatAppend(keys.room(pending.room), keys.messages(pending.room), keys.sent(pending.room, pending.user, pending.clientId ?? ''),
        head, tail, defaultLimit, keys.channel, pending.clientId === undefined ? '0' : '1', clientIdTtl, draft.id, draft.time)
      return draft
    })
    let results: [Error | null, unknown][] | null
    try {
      results = await pipeline.exec()
    } catch (error) {
      for (const pending of batch) pending.reject(error as Error)
      return
    }
    // Senders hear back after their message has reached this node's listeners, as with the
    // local engine: the message frame comes before the ack.
    await barrier()
    batch.forEach((pending, i) => {
      const [error, value] = results?.[i] ?? [new Error('no reply from Redis'), null]
      if (error !== null) return pending.reject(error)
      const reply = value as AppendReply
      if (reply === null) return pending.reject(new NotFoundError(`room ${pending.room} does not exist`))
      pending.resolve(reply[0] === 1 ? stored(pending, drafts[i]!, Number(reply[1])) : repeated(pending, reply[1], reply[2]))
    })
  }

  function stored (pending: PendingAppend, draft: { id: string, time: string }, seq: number): Appended {
    const message: Message = { room: pending.room, seq, id: draft.id, user: pending.user, text: pending.text, time: draft.time }
    if (pending.clientId !== undefined) message.clientId = pending.clientId
    return { message, duplicate: false }
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
    return toRecord(id, await redis.hgetall(keys.room(id)))
  }

  return {
    ...chatState,
    async createRoom (input: RoomInput) {
      const record = newRoomRecord(input)
      const created = await redis.chatCreateRoom(keys.room(record.id), keys.rooms, record.id, record.name,
        record.private ? '1' : '0', record.historyLimit === null ? '' : String(record.historyLimit), record.createdAt)
      return created === 1 ? record : undefined
    },
    getRoom: room,
    async listRooms (limit, afterId = '') {
      const ids = await redis.zrangebylex(keys.rooms, afterId === '' ? '-' : `(${afterId}`, '+', 'LIMIT', 0, limit + 1)
      const page = ids.slice(0, limit)
      const pipeline = redis.pipeline()
      for (const id of page) pipeline.hgetall(keys.room(id))
      const hashes = page.length === 0 ? [] : (await pipeline.exec()) ?? []
      const rooms: RoomRecord[] = []
      page.forEach((id, i) => {
        const [error, hash] = hashes[i] ?? [null, {}]
        if (error !== null) throw error
        // A room deleted between the two reads is left out.
        const record = toRecord(id, hash as Record<string, string>)
        if (record !== undefined) rooms.push(record)
      })
      return { rooms, hasMore: ids.length > limit }
    },
    async updateRoom (id, patch: RoomPatch) {
      const flag = (value: unknown) => (value === undefined ? '0' : '1')
      const result = await redis.chatUpdateRoom(keys.room(id), keys.messages(id),
        flag(patch.name), patch.name ?? '',
        flag(patch.private), patch.private === true ? '1' : '0',
        flag(patch.historyLimit), patch.historyLimit === undefined || patch.historyLimit === null ? '' : String(patch.historyLimit),
        defaultLimit)
      if (result === null) return undefined
      const [name, priv, historyLimit, createdAt] = result
      return toRecord(id, { name, private: priv, historyLimit, createdAt })
    },
    async deleteRoom (id) {
      // Appends still queued for this room fail with NotFoundError when their batch runs.
      return await redis.chatDeleteRoom(keys.room(id), keys.messages(id), keys.grants(id), keys.rooms,
        keys.changes(id), keys.reads(id), keys.typing(id), id) === 1
    },
    async setGrant (roomId, user) {
      const done = await redis.chatSetGrant(keys.room(roomId), keys.grants(roomId), user)
      if (done === null) throw new NotFoundError(`room ${roomId} does not exist`)
    },
    async deleteGrant (roomId, user) {
      await redis.srem(keys.grants(roomId), user)
    },
    async hasGrant (roomId, user) {
      return await redis.sismember(keys.grants(roomId), user) === 1
    },
    append (roomId, user, text, clientId) {
      if (closed) return Promise.reject(new Error('store is closed'))
      return batcher.append(roomId, user, text, clientId)
    },
    async latestSeq (roomId) {
      const seq = await redis.hget(keys.room(roomId), 'lastSeq')
      await barrier()
      return seq === null ? 0 : Number(seq)
    },
    async history (roomId, limit, before) {
      const max = before === undefined ? '+inf' : `(${before}`
      const members = await redis.zrevrangebyscore(keys.messages(roomId), max, '-inf', 'LIMIT', 0, limit)
      return members.reverse().map(parseMessage)
    },
    async recover (roomId, since): Promise<Recovery> {
      const [reply, changed] = await Promise.all([
        redis.chatRecover(keys.room(roomId), keys.messages(roomId), String(since), defaultLimit),
        changedSince(roomId, since)
      ])
      await barrier()
      const latestSeq = Number(reply[0])
      if (latestSeq < 0) return { latestSeq: 0, changed: [], messages: [], recovered: since === 0 }
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
