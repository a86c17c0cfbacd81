import type { NotifyLevel, PushSubscription } from './schemas.ts'

/** A notification made due, or waiting for its user's window in a room to end: the message's seq and the push payload. */
export interface Notification { user: string, room: string, seq: number, payload: string }

/** One push to one endpoint, queued until it is answered, its subscription is gone, or it expires. */
export interface Delivery {
  id: string
  user: string
  room: string
  seq: number
  subscription: PushSubscription
  payload: string
  /** Failed attempts so far. */
  attempts: number
  /** When it was queued (ms since the epoch): a push older than its TTL is dropped. */
  createdAt: number
}

/** How `note` and `flushEnded` treat what they make due. */
export interface DueOptions {
  /** At most one notification per user and room this often. */
  windowMs: number
  /** Queue a delivery to each subscription of the user (Web Push is configured). */
  push: boolean
  now: number
}

/** What a step made due: notifications (each also a `notification.due` event) and deliveries queued. */
export interface Made { due: Notification[], queued: number }

/** What a room's rule needs besides read state: its grantees, and the levels its users set. */
export interface RoomAudience { grantees: string[], levels: Record<string, NotifyLevel> }

/**
 * The port of push notifications: users' subscriptions, their per-room levels, each user and
 * room's coalescing window, and the durable queue of deliveries, shared by every node. Each step
 * is atomic on its engine (a transaction, or a script), so a notification is made due once and a
 * delivery is taken by one node at a time.
 */
export interface PushStore {
  /** Records the subscription as the user's (an endpoint belongs to the last user who registered it). */
  subscribe (user: string, subscription: PushSubscription): Promise<void>
  unsubscribe (user: string, endpoint: string): Promise<void>
  subscriptionsOf (user: string): Promise<PushSubscription[]>
  /** Sets the user's level in the room (`all` is the default and is not stored); false when the room is gone. */
  setLevel (room: string, user: string, level: NotifyLevel): Promise<boolean>
  audience (room: string): Promise<RoomAudience>
  /**
   * Notifications of messages of any rooms, in the order the messages were stored: each opens a
   * window and is due now when its user has none open in its room; otherwise it waits as the
   * window's pending notification (a newer one replaces an older one). What is due is queued in
   * the same step, and its webhook event recorded.
   */
  note (items: Notification[], options: DueOptions): Promise<Made>
  /** Makes due, once across nodes, the pending notifications whose window has ended (a new window opens for each). */
  flushEnded (options: DueOptions, limit: number): Promise<Made>
  /** Deliveries due now, each lent to this node for `leaseMs` (a node that dies lets them go again). */
  take (limit: number, leaseMs: number, now: number): Promise<Delivery[]>
  /** Answered, or given up: the deliveries leave the queue. */
  finish (ids: string[]): Promise<void>
  /** A failed attempt: tried again at `at`. */
  retryAt (id: string, attempts: number, at: number): Promise<void>
  /** The push service says the subscription is gone (404, 410): it and its queued deliveries go. */
  dropSubscription (endpoint: string): Promise<void>
  /** Deliveries queued. */
  pending (): Promise<number>
}
