import type { Message } from '../schemas/common.ts'
import type { EventType, FailedEvent } from '../schemas/webhooks.ts'

/** A room as stored; `historyLimit` is null when the room follows CHAT_HISTORY_LIMIT. */
export interface RoomRecord {
  id: string
  name: string
  private: boolean
  historyLimit: number | null
  createdAt: string
}

export interface RoomInput {
  id: string
  name?: string
  private?: boolean
  historyLimit?: number
}

export interface RoomPatch {
  name?: string
  private?: boolean
  historyLimit?: number | null
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
  /**
   * True when the sender's read seq was moved to the message in the same step as storing it
   * (asked for with `moveSenderRead`, and done when the sender already had a read seq there).
   */
  senderRead?: boolean
}

/** Who asks for an edit or delete: a user (author only) or an operator (any message). */
export type Changer = { user: string } | { admin: true }

/** What an edit or delete did. */
export type Change =
  | { outcome: 'changed', message: Message }
  /** Nothing to do: deleting a deleted message. */
  | { outcome: 'unchanged', message: Message }
  | { outcome: 'not_found' }
  | { outcome: 'forbidden' }

/** A move of one user's read seq in one room. */
export interface ReadMove { room: string, user: string, seq: number }

/** A user's read position in a room, with the room's latest seq. */
export interface UnreadRoom { room: string, seq: number, readSeq: number, unread: number }

/** How long a clientId is remembered: the contract's 24 hours, and an hour to spare. */
export const CLIENT_ID_TTL_MS = 25 * 3600 * 1000

/** Durable state: rooms, grants, messages. */
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
  /**
   * Stores a message, assigning the room's next seq in the same transaction as the insert.
   * Resolves once the message is durable; rejects with NotFoundError when the room is gone.
   * With a clientId, the key (room, user, clientId) is recorded in that same transaction and
   * kept for CLIENT_ID_TTL_MS, even after the message leaves history: a repeat stores nothing
   * and resolves with the first message (as it is now) and `duplicate: true`.
   * With `moveSenderRead`, the sender's read seq moves to the new message in that same step
   * (`senderRead` says whether it did), which saves the read state a write of its own per message.
   */
  append(room: string, user: string, text: string, clientId?: string, moveSenderRead?: boolean): Promise<Appended>
  latestSeq(room: string): Promise<number>
  /**
   * Replaces the text of a retained, undeleted message (version + 1, editedAt), recording the
   * change for recovery in the same transaction. Only its author may, unless an operator asks.
   */
  editMessage(room: string, seq: number, text: string, by: Changer): Promise<Change>
  /** Makes the message a tombstone (text '', deleted, deletedAt), keeping its seq; idempotent. */
  deleteMessage(room: string, seq: number, by: Changer): Promise<Change>
  /** The user's read seq in the room; undefined when it has none. */
  readSeq(room: string, user: string): Promise<number | undefined>
  /**
   * Moves read seqs forward in one transaction; a move to a lower seq than stored changes
   * nothing, and a move in a room that no longer exists is dropped. Resolves with the moves
   * that took effect: the objects given, so a caller's own fields come back with them.
   */
  saveReads<M extends ReadMove>(moves: M[]): Promise<M[]>
  /** Every user with a read seq in the room, by user id. */
  reads(room: string): Promise<{ user: string, seq: number }[]>
  /** Every existing room where the user has a read seq, by room id. */
  unread(user: string): Promise<UnreadRoom[]>
  /** The newest `limit` messages with seq < before (or the newest overall), ascending. */
  history(room: string, limit: number, before?: number): Promise<Message[]>
  /** Every retained message with seq > since, for a reconnecting client. */
  recover(room: string, since: number): Promise<Recovery>
  ready(): Promise<boolean>
  close(): Promise<void>
}

export type RoomEvent =
  /** `json`: the message's JSON as stored, when the event came with it (framing it then needs no stringify). */
  | { kind: 'message', message: Message, json?: string }
  | { kind: 'updated', message: Message }
  | { kind: 'typing', room: string, users: string[] }
  | { kind: 'read', room: string, user: string, seq: number }
  | { kind: 'presence', room: string, event: 'join' | 'leave', user: string, time: string }
  | { kind: 'kick', room: string, user: string, reason: string }
  | { kind: 'room_deleted', room: string }

export interface OnlineUser { user: string, connections: number }

export interface TypingState {
  /** The users now typing, sorted, when this call changed the set. */
  changed?: string[]
  /** Milliseconds until the next entry expires; undefined when nobody is typing. */
  nextExpiryMs?: number
}

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
  /**
   * Starts (or prolongs to `ttlMs` from now) or stops the user's typing in the room, first
   * dropping entries that have expired. Resolves with the room's typing set when it changed,
   * and in every case with how long until the next entry expires (undefined: none left).
   * A change is also published as a `typing` event, in the same step. The local broker answers
   * at once (a value, not a promise), so a typing frame on one node waits for nothing.
   */
  typing(room: string, user: string, active: boolean, ttlMs: number): TypingState | Promise<TypingState>
  /** Drops expired entries, publishing the new set when that changed it. */
  expireTyping(room: string): Promise<TypingState>
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
}

export interface ChatEngine {
  name: 'local' | 'redis'
  store: ChatStore
  broker: ChatBroker
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
