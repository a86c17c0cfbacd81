import type { Message } from '../schemas/common.ts'
import type { EventType, FailedEvent } from '../schemas/webhooks.ts'
import type { EventKinds, RoomEvent } from './events.ts'
import type { StorageExtension } from './extension.ts'

/**
 * A room as stored; `historyLimit` is null when the room follows CHAT_HISTORY_LIMIT;
 * `slowModeMs` is the least time between two messages of a member (0: no slow mode).
 */
export interface RoomRecord {
  id: string
  name: string
  private: boolean
  historyLimit: number | null
  slowModeMs: number
  /** Days after which a message is removed (fractions allowed); null: CHAT_RETENTION_DAYS, if set. */
  retentionDays: number | null
  createdAt: string
}

export interface RoomInput {
  id: string
  name?: string
  private?: boolean
  historyLimit?: number
  slowModeMs?: number
  retentionDays?: number
}

export interface RoomPatch {
  name?: string
  private?: boolean
  historyLimit?: number | null
  slowModeMs?: number
  retentionDays?: number | null
}

export interface Recovery {
  /** The room's latest seq when the messages were read. */
  latestSeq: number
  /**
   * Retained messages with seq <= since that were edited or deleted after message `since` was
   * stored, as they are now, ascending: a client that saw up to `since` missed these changes.
   */
  changed: Message[]
  /** Messages with seq > since, ascending, as they are now. */
  messages: Message[]
  /** False when retained history no longer reaches back to since + 1. */
  recovered: boolean
}

/** What an append did: stored a new message, or found the first one sent with the same clientId. */
export interface Appended {
  message: Message
  /** True when (room, user, clientId) was sent before: nothing was stored or published. */
  duplicate: boolean
  /** What features' append hooks did with the message, by feature name (absent when none did anything). */
  effects?: Record<string, unknown>
}

export interface AppendOptions {
  /** The sender's idempotency key. */
  clientId?: string
  /** The features' fields of the message (replyTo, mentions…), stored and published with it. */
  fields?: Record<string, unknown>
}

/** How long a clientId is remembered: the contract's 24 hours, and an hour to spare. */
export const CLIENT_ID_TTL_MS = 25 * 3600 * 1000

/**
 * Durable state of the core: rooms, grants, messages and their changes. Features keep theirs
 * through their own ports (StorageExtension), on the same storage.
 */
export interface ChatStore {
  /** Resolves undefined when a room with that id exists. */
  createRoom(input: RoomInput): Promise<RoomRecord | undefined>
  getRoom(id: string): Promise<RoomRecord | undefined>
  /** Rooms ordered by id, after the given id. */
  listRooms(limit: number, afterId?: string): Promise<{ rooms: RoomRecord[], hasMore: boolean }>
  updateRoom(id: string, patch: RoomPatch): Promise<RoomRecord | undefined>
  deleteRoom(id: string): Promise<boolean>
  /** Rejects with NotFoundError when the room does not exist. */
  setGrant(room: string, user: string): Promise<void>
  deleteGrant(room: string, user: string): Promise<void>
  hasGrant(room: string, user: string): Promise<boolean>
  /** The existing rooms that granted the user, by id (on Redis: grants given since the user index exists). */
  grantedRooms(user: string): Promise<string[]>
  /**
   * Stores a message, assigning the room's next seq in the same transaction as the insert, and
   * runs the features' append hooks in that step (a hook may refuse the message: the promise
   * rejects with Refused). Resolves once the message is durable; rejects with NotFoundError when
   * the room is gone. With a clientId, the key (room, user, clientId) is recorded in that same
   * step and kept for CLIENT_ID_TTL_MS, even after the message leaves history: a repeat stores
   * nothing and resolves with the first message (as it is now) and `duplicate: true`.
   */
  append(room: string, user: string, text: string, options?: AppendOptions): Promise<Appended>
  latestSeq(room: string): Promise<number>
  /** The retained message at seq, as it now is; undefined when there is none. */
  message(room: string, seq: number): Promise<Message | undefined>
  /** The newest `limit` messages with seq < before (or the newest overall), ascending. */
  history(room: string, limit: number, before?: number): Promise<Message[]>
  /** Every retained message with seq > since, for a reconnecting client, and older ones changed since. */
  recover(room: string, since: number): Promise<Recovery>
  /**
   * Publishes each retained message of `seqs` as it now is, in an `updated` event, reading and
   * publishing in one step (Redis) so that the last one published is the latest state.
   */
  publishUpdated(room: string, seqs: number[]): Promise<void>
  ready(): Promise<boolean>
  close(): Promise<void>
}

export type { RoomEvent }

export interface OnlineUser { user: string, connections: number }

/**
 * Fan-out and presence across every node. The local engine keeps both in this process;
 * a broker-backed engine carries events to every node and presence in the shared store.
 */
export interface ChatBroker {
  publish(event: RoomEvent): void
  /** True when `publish` hands the event to this node's subscribers before it returns (the local broker). */
  readonly deliversAtOnce?: boolean
  subscribe(listener: (event: RoomEvent) => void): void
  /** Counts one connection of the user in the room; true when it is the user's first. */
  presenceAdd(room: string, user: string, connectionId: string): Promise<boolean>
  /** Uncounts it; true when it was the user's last. */
  presenceRemove(room: string, user: string, connectionId: string): Promise<boolean>
  /** Users online in the room with their connection counts. */
  online(room: string): Promise<OnlineUser[]>
  /** Forgets every presence entry of a deleted room. */
  presenceClear(room: string): Promise<void>
  ready(): Promise<boolean>
  close(): Promise<void>
}

/** What a broker-backed engine reports on /metrics about following rooms. */
export interface EngineStats {
  /** Rooms this node is subscribed to. */
  roomsFollowed: number
  /** History reads that filled a gap (a cut subscription, a seq jump, a slow message). */
  gapRepairs: number
  /** Messages delivered from such reads rather than from the channel. */
  repairedMessages: number
  /** Rooms whose seq in Redis was behind what this node had delivered (a failover to a lagging replica), raised rather than reused. */
  seqRaises: number
  /** Messages lost with such a failover: seqs this node delivered that Redis no longer had, or found missing from history though never trimmed. */
  lostSeqs: number
}

export interface ChatEngine {
  name: 'local' | 'redis' | 'postgres'
  store: ChatStore
  broker: ChatBroker
  /**
   * True when storage publishes the events of its changes in the step that makes them (Redis
   * scripts); false when whoever made a change publishes it once stored (the local engine).
   */
  storagePublishes: boolean
  /**
   * True when history is kept in a database, where a room may keep all of it (historyLimit 0);
   * false on Redis alone, which keeps history in memory.
   */
  unboundedHistory: boolean
  /** The features' event kinds (checked on arrival from other nodes). */
  events: EventKinds
  /** A feature's store on this engine, built when the engine started. */
  port<P>(extension: StorageExtension<P>): P
  /** The delivery side of the outbox (there even without URLs, for the parked list). */
  webhooks: WebhookStore
  /** The Redis engine's figures; the local engine has none. */
  stats?: () => EngineStats
}

/**
 * What each engine records for events out: the types selected by CHAT_WEBHOOK_EVENTS, written in
 * the same SQLite transaction or Redis script as the change each reports. Absent: nothing is
 * recorded (no CHAT_WEBHOOK_URLS).
 */
export interface OutboxOptions {
  events: ReadonlySet<EventType>
}

/** No answer within this long is a failed delivery attempt (the contract's 5 s); leases outlive it. */
export const ATTEMPT_TIMEOUT_MS = 5000

/** An event waiting for one URL: where it is in its room's order, and what was tried so far. */
export interface QueuedEvent {
  room: string
  /** The engine's handle of the event (its outbox seq, or its stream entry). */
  ref: string
  /** Failed attempts already made for this URL (they survive restarts). */
  attempts: number
}

/**
 * One URL's view of the outbox: each room's events in order, and the durable record of what
 * was done with each. The delivery worker (src/webhooks/delivery.ts) drives it.
 */
export interface WebhookFeed {
  /** The room's next event for this URL; undefined when there is none, or it is not this node's to send. */
  next (room: string): Promise<QueuedEvent | undefined>
  /** The body to send; undefined when the event is no longer this node's to send. */
  body (event: QueuedEvent): Promise<string | undefined>
  /** Answered 2xx: the room may go on (recorded in batches; a crash may repeat the last ones). */
  delivered (event: QueuedEvent): void
  /** An attempt failed; `attempts` so far and why, recorded before the retry waits. */
  failed (event: QueuedEvent, attempts: number, error: string): Promise<void>
  /** Parked after the last attempt: listed as failed, and the room goes on. */
  parked (event: QueuedEvent, attempts: number, error: string): Promise<void>
  /** Writes what is recorded in batches, stops reading, and lets go of what it holds. */
  close (): Promise<void>
}

/** The outbox's delivery side and parked events, as each engine keeps them. */
export interface WebhookStore {
  /** A feed of the URL's events; `wake(room)` is called whenever the room may have an event for it. */
  feed (url: string, wake: (room: string) => void): WebhookFeed
  /** Forgets the progress of URLs no longer configured, so they hold nothing back. */
  forgetOthers (urls: string[]): Promise<void>
  /** Parked events, one entry per URL they were parked for, oldest first, at most `limit` events. */
  failed (limit: number): Promise<FailedEvent[]>
  /** Queues a parked event again for the URLs it was parked for; false when no event has that id. */
  retry (id: string): Promise<boolean>
  /** Events waiting for at least one URL (what this node answers for, on Redis). */
  pending (): Promise<number>
}

export class NotFoundError extends Error {
  override name = 'NotFoundError'
}

/**
 * A write whose outcome storage could not tell: sent, then no answer in time (a stalled Redis),
 * or the connection lost while it was in flight. It may run, or have run: a message may be
 * stored. Whoever sent it should send it again with the same clientId, which stores it once.
 */
export class OutcomeUnknown extends Error {
  override name = 'OutcomeUnknown'

  constructor (override readonly cause: Error) {
    super(`storage could not confirm the write (${cause.message}): it may have been stored`)
  }
}
