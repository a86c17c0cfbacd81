import type { AckFrame, Message, NotifyFrame, PushSubscribeFrame, ServerFrame } from './protocol.ts'
import type { ChatError } from './errors.ts'

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

/** A token, or a function that gets a fresh one; it is called again before every reconnect. */
export type TokenSource = string | (() => string | Promise<string>)

// Method syntax makes the handler's parameter bivariant, so both the browser's WebSocket
// and `ws`'s (whose events carry more fields) fit the same shape.
type Handler<E> = { bivarianceHack (event: E): void }['bivarianceHack']

/** What the client needs of a WebSocket: the browser's, Node 22's, or `ws`'s. */
export interface WebSocketLike {
  readonly readyState: number
  onmessage: Handler<{ data: unknown }> | null
  onclose: Handler<{ code: number, reason: string }> | null
  onerror: Handler<unknown> | null
  send (data: string): void
  close (code?: number, reason?: string): void
  /** `ws` only: drops the connection at once, without a closing handshake. */
  terminate?: () => void
}

export type WebSocketConstructor = new (url: string) => WebSocketLike

export interface ChatClientOptions {
  /** The service's WebSocket URL, such as `ws://localhost:3000/ws`. */
  url: string
  /** Dev mode: the user id to connect as (`?user=`); without it the server picks a guest id. */
  user?: string
  /** JWT mode: the token (`?token=`), or a function called before every (re)connect. */
  token?: TokenSource
  /** The WebSocket class; defaults to the global one (browsers, Node 22). In Node 20 pass `ws`'s. */
  WebSocket?: WebSocketConstructor
  /** First reconnect delay; it doubles on each failed attempt. Default 500. */
  minReconnectDelayMs?: number
  /** Longest reconnect delay. Default 20000. */
  maxReconnectDelayMs?: number
  /** After this long without any frame from the server, the client sends a `ping`. Default 5000. */
  pingIntervalMs?: number
  /** A ping not answered (by any frame) within this long means the link is dead. Default 4000. */
  pongTimeoutMs?: number
  /** An attempt that has no `welcome` within this long is given up. Default 10000. */
  connectTimeoutMs?: number
}

/** Why a connection ended. `wasOpen` is false when the attempt never got its `welcome`. */
export interface DisconnectInfo {
  code: number
  reason: string
  wasOpen: boolean
}

/** Replies answer one request and settle its promise; they are not events. */
type ReplyType = 'ack' | 'left' | 'history' | 'pong' | 'refreshed' | 'unread' | 'reads' | 'dm' | 'rooms' | 'error'

/** Every other server frame is an event named after its type, with the frame as payload. */
type FrameEvents = { [F in ServerFrame as F['type']]: F }

/**
 * The client's events. From the server: `welcome`, `joined` (also after every automatic
 * re-join), `presence`, `typing`, `read`, `kicked`, `room_deleted` and any broadcast frame
 * the server adds, each with its frame; `message` with the message object, once per seq and
 * in seq order per room (a reply is one too, with `replyTo` naming its thread's root);
 * `updated` with the message as it now is: edited or deleted, its `reactions` changed, or, for
 * a root, its `thread` summary changed by a reply. From the client: `state`, `disconnect`, and
 * `error` for failures no promise can report (an error frame without a pending request, a
 * failed automatic re-join, a token function that threw).
 */
export interface ChatEvents extends Omit<FrameEvents, ReplyType | 'message' | 'updated'> {
  message: Message
  updated: Message
  state: ConnectionState
  disconnect: DisconnectInfo
  error: ChatError
}

export interface HistoryOptions {
  /** Only messages with a lower seq (for paging backwards). */
  before?: number
  /** 1 to 100; the server's default is 50. */
  limit?: number
}

export interface SendOptions {
  /**
   * The idempotency key (^[A-Za-z0-9_.:-]{1,64}$). A random one by default; pass your own
   * to make a send that survives a reload of your program exactly once as well.
   */
  clientId?: string
  /**
   * Sends the message as a reply in the thread of this message (its seq); a reply to a reply
   * goes to that reply's root. The message must be retained and not deleted (`not_found`).
   */
  replyTo?: number
}

/** One emoji's reactions on a message: `{emoji, count, users}` (`users` the first 25). */
export type Reaction = NonNullable<Message['reactions']>[number]

/** A root's thread summary: `{replies, lastSeq, lastTime}`. */
export type ThreadSummary = NonNullable<Message['thread']>

/** The `ack` of a message, an edit, a delete or a reaction: it names the message (seq and id). */
export type MessageAck = AckFrame & { room: string, seq: number, id: string }

/** The `ack` of a frame about a room (moderation, slow mode, notify): it names the room. */
export type RoomAck = AckFrame & { room: string }

/** A browser's Web Push subscription as JSON (`PushSubscription.toJSON()`): `{endpoint, keys: {p256dh, auth}}`. */
export type PushSubscriptionData = PushSubscribeFrame['subscription']

/** What a user is notified of in a room: `all` messages, those that `mentions` it, or `none`. */
export type NotifyLevel = NonNullable<NotifyFrame['level']>
