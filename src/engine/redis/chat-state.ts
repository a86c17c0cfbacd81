import type { Message } from '../../schemas/common.ts'
import type { PublishCommand } from './broker.ts'
import { inOneWrite, type RedisClient } from './connection.ts'
import { globalKeys, roomKeys } from './keys.ts'
import { eventIdFor } from './outbox.ts'
import type { Change, Changer, ChatStore, OutboxOptions, ReadMove, UnreadRoom } from '../types.ts'

const parseMessage = (member: string) => JSON.parse(member) as Message
const bySeq = (a: Message, b: Message) => a.seq - b.seq

/**
 * Edits, deletes and read seqs in Redis: the same semantics as the SQLite store, each change
 * one script over the keys of one room (one slot on a cluster).
 */
export function createRedisChatState (redis: RedisClient, defaultHistoryLimit: number, publish: PublishCommand, outbox?: OutboxOptions) {
  const defaultLimit = String(defaultHistoryLimit)

  async function change (room: string, seq: number, op: 'edit' | 'delete', text: string, by: Changer): Promise<Change> {
    const keys = roomKeys(room)
    const [outcome, member] = await redis.chatChangeMessage(keys.room, keys.messages, keys.changes, keys.outbox,
      String(seq), 'user' in by ? by.user : '', op, text, new Date().toISOString(), keys.channel, defaultLimit, publish,
      eventIdFor(outbox, op === 'edit' ? 'message.edited' : 'message.deleted'), room)
    if ((outcome === 'changed' || outcome === 'unchanged') && member !== undefined) return { outcome, message: parseMessage(member) }
    return { outcome: outcome === 'forbidden' ? 'forbidden' : 'not_found' }
  }

  const methods: Pick<ChatStore, 'editMessage' | 'deleteMessage' | 'readSeq' | 'saveReads' | 'reads' | 'unread'> = {
    editMessage: (room, seq, text, by) => change(room, seq, 'edit', text, by),
    deleteMessage: (room, seq, by) => change(room, seq, 'delete', '', by),

    async readSeq (room, user) {
      const seq = await redis.hget(roomKeys(room).reads, user)
      return seq === null ? undefined : Number(seq)
    },

    async saveReads (moves) {
      // The user's room index is written first: an entry for a move that then fails is
      // skipped when read, while a read seq missing from the index would never be listed.
      const indexed = inOneWrite(redis, () => moves.map((move) => redis.sadd(globalKeys.userRooms(move.user), move.room)))
      await Promise.all(indexed)
      const results = await Promise.all(inOneWrite(redis, () => moves.map((move) => {
        const keys = roomKeys(move.room)
        return redis.chatMoveRead(keys.room, keys.reads, move.user, String(move.seq))
      })))
      return moves.filter((_move, i) => results[i] === 1)
    },

    async reads (room) {
      const entries = Object.entries(await redis.hgetall(roomKeys(room).reads))
      return entries.map(([user, seq]) => ({ user, seq: Number(seq) })).sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0))
    },

    async unread (user) {
      const rooms = (await redis.smembers(globalKeys.userRooms(user))).sort()
      const states = await Promise.all(rooms.map((room) => {
        const keys = roomKeys(room)
        return redis.chatUnreadOf(keys.room, keys.reads, user)
      }))
      const result: UnreadRoom[] = []
      rooms.forEach((room, i) => {
        const state = states[i]
        if (state === null || state === undefined) return
        const [seq, readSeq] = state
        result.push({ room, seq, readSeq, unread: Math.max(0, seq - readSeq) })
      })
      return result
    }
  }

  return {
    ...methods,
    /** Retained messages up to `since` changed at or after since, ascending. */
    async changedSince (room: string, since: number): Promise<Message[]> {
      if (since === 0) return []
      const keys = roomKeys(room)
      return (await redis.chatChangedSince(keys.changes, keys.messages, String(since))).map(parseMessage).sort(bySeq)
    }
  }
}

export type { ReadMove }
