import type { Message } from '../../schemas/common.ts'
import type { RedisClient } from './connection.ts'
import { roomKeys } from './keys.ts'

/** Messages after a seq as a feed's repair reads them. */
export interface HistoryAfter {
  /** The room's latest seq when read; -1 when the room is gone. */
  latest: number
  /** The oldest seq retained; 0 when none is. */
  oldest: number
  /** Retained messages after the seq asked for, ascending, with their JSON as published. */
  messages: { message: Message, json: string }[]
  /** True when the read stopped short of `latest` (a bounded read): the repair reads on. */
  more?: boolean
}

/**
 * Where a room feed (room-feeds.ts) reads what it did not get over the channel: the room's
 * history, in Redis for the Redis engine, in PostgreSQL when PostgreSQL keeps it and Redis
 * only carries events.
 */
export interface FeedHistory {
  /** The room's latest seq and createdAt; undefined when the room does not exist. */
  position (room: string): Promise<{ seq: number, createdAt: string } | undefined>
  after (room: string, since: number): Promise<HistoryAfter>
  /** Retained messages up to `since` changed after it, as they now are, ascending. */
  changedSince (room: string, since: number): Promise<Message[]>
  /**
   * Raises the room's seq to `floor` when it is below (a failover to a replica that lacked the
   * last writes); resolves how many seqs were skipped, -1 when the room is gone or another.
   * Absent where storage cannot lose writes it acknowledged.
   */
  raise? (room: string, floor: number, createdAt: string): Promise<number>
}

/** The Redis engine's history: the room's hash, sorted set and change record, read by its scripts. */
export function redisFeedHistory (redis: RedisClient, defaultHistoryLimit: number): FeedHistory {
  const defaultLimit = String(defaultHistoryLimit)
  return {
    async position (room) {
      const [seq, createdAt] = await redis.hmget(roomKeys(room).room, 'lastSeq', 'createdAt')
      return seq === null || createdAt === null ? undefined : { seq: Number(seq), createdAt }
    },
    async after (room, since) {
      const keys = roomKeys(room)
      const reply = await redis.chatRecover(keys.room, keys.messages, String(since), defaultLimit)
      return {
        latest: Number(reply[0]),
        oldest: Number(reply[1]),
        messages: (reply.slice(2) as string[]).map((json) => ({ message: JSON.parse(json) as Message, json }))
      }
    },
    async changedSince (room, since) {
      const keys = roomKeys(room)
      const changed = await redis.chatChangedSince(keys.changes, keys.messages, String(since))
      return changed.map((json) => JSON.parse(json) as Message).sort((a, b) => a.seq - b.seq)
    },
    raise: (room, floor, createdAt) => redis.chatRaiseSeq(roomKeys(room).room, String(floor), createdAt)
  }
}
