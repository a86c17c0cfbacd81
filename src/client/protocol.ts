/* The wire protocol's types for the client SDK, written by scripts/client-protocol.ts from the
 * schemas that validate frames (npm run generate). Do not edit by hand. */
/**
 * A stored chat message, the same object over WebSocket, REST and webhooks
 */
export interface Message {
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  seq: number
  id: string
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  user: string
  text: string
  time: string
  /**
   * the sender's idempotency key: a repeat by the same user in the same room within 24 hours is not stored again
   */
  clientId?: string
  /**
   * 1 for a message never edited, one more per edit
   */
  version?: number
  editedAt?: string
  deleted?: true
  deletedAt?: string
  /**
   * the users the text mentions (`@id` at its start or after whitespace), once each, in order of first appearance
   *
   * @minItems 1
   *
   * Items: matches ^[A-Za-z0-9_.-]{1,64}$
   */
  mentions?: [string, ...string[]]
  /**
   * one entry per emoji, ordered by the time of its earliest current reaction
   *
   * @minItems 1
   */
  reactions?: [
    {
      /**
       * 1 to 32 characters, no whitespace
       */
      emoji: string
      /**
       * how many users reacted with it
       */
      count: number
      /**
       * the first 25 users, in the order they reacted
       *
       * Items: matches ^[A-Za-z0-9_.-]{1,64}$
       */
      users: string[]
    },
    ...{
      /**
       * 1 to 32 characters, no whitespace
       */
      emoji: string
      /**
       * how many users reacted with it
       */
      count: number
      /**
       * the first 25 users, in the order they reacted
       *
       * Items: matches ^[A-Za-z0-9_.-]{1,64}$
       */
      users: string[]
    }[]
  ]
  /**
   * the seq of the thread's root this message replies to
   */
  replyTo?: number
  /**
   * the thread of this root, while it has undeleted replies
   */
  thread?: {
    /**
     * undeleted replies
     */
    replies: number
    /**
     * the seq of the newest undeleted reply
     */
    lastSeq: number
    lastTime: string
  }
}
export interface JoinFrame {
  type: 'join'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  since?: number
  ref?: string
}
export interface LeaveFrame {
  type: 'leave'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  ref?: string
}
export interface MessageFrame {
  type: 'message'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  text: string
  /**
   * the sender's idempotency key: a repeat by the same user in the same room within 24 hours is not stored again
   */
  clientId?: string
  ref?: string
  /**
   * reply to this message (a reply to a reply goes to its root)
   */
  replyTo?: number
}
export interface HistoryFrame {
  type: 'history'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  before?: number
  limit?: number
  ref?: string
  /**
   * the thread's root: its replies (not the root), with the paging of history
   */
  thread?: number
}
export interface PingFrame {
  type: 'ping'
  ref?: string
}
export interface RefreshFrame {
  type: 'refresh'
  token: string
  ref?: string
}
export interface EditFrame {
  type: 'edit'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * a message's seq
   */
  seq: number
  text: string
  ref?: string
}
export interface DeleteFrame {
  type: 'delete'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * a message's seq
   */
  seq: number
  ref?: string
}
export interface TypingFrame {
  type: 'typing'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  active?: boolean
  ref?: string
}
export interface ReadFrame {
  type: 'read'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  seq: number
  ref?: string
}
export interface UnreadFrame {
  type: 'unread'
  ref?: string
}
export interface ReadsFrame {
  type: 'reads'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  ref?: string
}
export interface ReactFrame {
  type: 'react'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * a message's seq
   */
  seq: number
  /**
   * 1 to 32 characters, no whitespace
   */
  emoji: string
  active?: boolean
  ref?: string
}
export interface SlowModeFrame {
  type: 'slow_mode'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * slow mode: least ms between two messages of a member who is not a moderator; 0: off
   */
  intervalMs: number
  ref?: string
}
export interface KickFrame {
  type: 'kick'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  user: string
  reason?: string
  ref?: string
}
export interface BanFrame {
  type: 'ban'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  user: string
  /**
   * how long it lasts, in ms; absent: until lifted
   */
  durationMs?: number
  reason?: string
  ref?: string
}
export interface UnbanFrame {
  type: 'unban'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  user: string
  ref?: string
}
export interface MuteFrame {
  type: 'mute'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  user: string
  /**
   * how long it lasts, in ms; absent: until lifted
   */
  durationMs?: number
  reason?: string
  ref?: string
}
export interface UnmuteFrame {
  type: 'unmute'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  user: string
  ref?: string
}
export interface ReportFrame {
  type: 'report'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  seq: number
  reason?: string
  ref?: string
}
export interface OpenDmFrame {
  type: 'open_dm'
  /**
   * the other participants (1 to 9)
   *
   * @minItems 1
   * @maxItems 9
   *
   * Items: matches ^[A-Za-z0-9_.-]{1,64}$
   */
  users:
    | [string]
    | [string, string]
    | [string, string, string]
    | [string, string, string, string]
    | [string, string, string, string, string]
    | [string, string, string, string, string, string]
    | [string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string]
    | [string, string, string, string, string, string, string, string, string]
  ref?: string
}
export interface RoomsFrame {
  type: 'rooms'
  ref?: string
}
export interface SearchFrame {
  type: 'search'
  /**
   * words; each matches a word of the text that starts with it
   */
  query: string
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room?: string
  /**
   * at most this many messages (default 20)
   */
  limit?: number
  ref?: string
}
export interface PushSubscribeFrame {
  type: 'push_subscribe'
  subscription: {
    /**
     * the push service URL of this browser (https; a host of CHAT_PUSH_ALLOWED_HOSTS may be http)
     */
    endpoint: string
    keys: {
      /**
       * the browser's P-256 public key, URL-safe base64 (65 bytes)
       */
      p256dh: string
      /**
       * the authentication secret, URL-safe base64 (16 bytes)
       */
      auth: string
    }
  }
  ref?: string
}
export interface PushUnsubscribeFrame {
  type: 'push_unsubscribe'
  endpoint: string
  ref?: string
}
export interface NotifyFrame {
  type: 'notify'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * all: every message; mentions: messages that mention the user; none: nothing
   */
  level?: 'all' | 'mentions' | 'none'
  ref?: string
}
export interface WelcomeFrame {
  type: 'welcome'
  connectionId: string
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  user: string
  heartbeatMs: number
}
export interface JoinedFrame {
  type: 'joined'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  seq: number
  /**
   * Items: matches ^[A-Za-z0-9_.-]{1,64}$
   */
  members: string[]
  recovered?: boolean
  ref?: string
  /**
   * the user's read seq in the room
   */
  readSeq?: number
  /**
   * the joiner's role in the room, from the room's roles or its token's `roles` claim; absent without one
   */
  role?: 'owner' | 'moderator'
}
export interface LeftFrame {
  type: 'left'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  ref?: string
}
export interface MessageOutFrame {
  type: 'message'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  seq: number
  id: string
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  user: string
  text: string
  time: string
  /**
   * the sender's idempotency key: a repeat by the same user in the same room within 24 hours is not stored again
   */
  clientId?: string
  /**
   * 1 for a message never edited, one more per edit
   */
  version?: number
  editedAt?: string
  deleted?: true
  deletedAt?: string
  /**
   * the users the text mentions (`@id` at its start or after whitespace), once each, in order of first appearance
   *
   * @minItems 1
   *
   * Items: matches ^[A-Za-z0-9_.-]{1,64}$
   */
  mentions?: [string, ...string[]]
  /**
   * one entry per emoji, ordered by the time of its earliest current reaction
   *
   * @minItems 1
   */
  reactions?: [
    {
      /**
       * 1 to 32 characters, no whitespace
       */
      emoji: string
      /**
       * how many users reacted with it
       */
      count: number
      /**
       * the first 25 users, in the order they reacted
       *
       * Items: matches ^[A-Za-z0-9_.-]{1,64}$
       */
      users: string[]
    },
    ...{
      /**
       * 1 to 32 characters, no whitespace
       */
      emoji: string
      /**
       * how many users reacted with it
       */
      count: number
      /**
       * the first 25 users, in the order they reacted
       *
       * Items: matches ^[A-Za-z0-9_.-]{1,64}$
       */
      users: string[]
    }[]
  ]
  /**
   * the seq of the thread's root this message replies to
   */
  replyTo?: number
  /**
   * the thread of this root, while it has undeleted replies
   */
  thread?: {
    /**
     * undeleted replies
     */
    replies: number
    /**
     * the seq of the newest undeleted reply
     */
    lastSeq: number
    lastTime: string
  }
}
export interface AckFrame {
  type: 'ack'
  ref?: string
  /**
   * the frame's room; absent on acks of push_subscribe and push_unsubscribe, which name none
   */
  room?: string
  /**
   * the message's seq: on acks of message, edit, delete and react; absent on acks of moderation frames
   */
  seq?: number
  /**
   * the message's id, with seq
   */
  id?: string
  duplicate?: true
}
export interface PresenceFrame {
  type: 'presence'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  event: 'join' | 'leave'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  user: string
  time: string
}
export interface HistoryOutFrame {
  type: 'history'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  messages: Message[]
  ref?: string
}
export interface PongFrame {
  type: 'pong'
  ref?: string
}
export interface KickedFrame {
  type: 'kicked'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  reason: string
}
export interface RoomDeletedFrame {
  type: 'room_deleted'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
}
export interface RefreshedFrame {
  type: 'refreshed'
  expiresAt?: string
  ref?: string
}
export interface ErrorFrame {
  type: 'error'
  code: 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'not_member' | 'rate_limited' | 'internal'
  message: string
  /**
   * with rate_limited from slow mode: ms until the next message may be sent
   */
  retryAfterMs?: number
  ref?: string
}
export interface UpdatedFrame {
  type: 'updated'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  message: Message
}
export interface TypingOutFrame {
  type: 'typing'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * Items: matches ^[A-Za-z0-9_.-]{1,64}$
   */
  users: string[]
}
export interface ReadOutFrame {
  type: 'read'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  user: string
  seq: number
}
export interface UnreadOutFrame {
  type: 'unread'
  rooms: RoomUnread[]
  ref?: string
}
export interface RoomUnread {
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * the room's latest seq
   */
  seq: number
  /**
   * the user's read seq in the room
   */
  readSeq: number
  /**
   * seq - readSeq
   */
  unread: number
  /**
   * retained messages after readSeq that mention the user
   */
  mentions: number
}
export interface ReadsOutFrame {
  type: 'reads'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  reads: {
    /**
     * matches ^[A-Za-z0-9_.-]{1,64}$
     */
    user: string
    seq: number
  }[]
  ref?: string
}
export interface DmFrame {
  type: 'dm'
  /**
   * matches ^[A-Za-z0-9_.-]{1,64}$
   */
  room: string
  /**
   * every participant, sorted
   *
   * Items: matches ^[A-Za-z0-9_.-]{1,64}$
   */
  users: string[]
  ref?: string
}
export interface RoomsOutFrame {
  type: 'rooms'
  rooms: {
    /**
     * matches ^[A-Za-z0-9_.-]{1,64}$
     */
    room: string
    name: string
    private: boolean
    /**
     * a direct-message room
     */
    dm: boolean
    /**
     * the room's latest seq
     */
    seq: number
    /**
     * the user's read seq (0: none)
     */
    readSeq: number
    unread: number
    /**
     * messages after readSeq that mention the user
     */
    mentions: number
    /**
     * the newest message, or null
     */
    last: Message | null
  }[]
  ref?: string
}
export interface SearchOutFrame {
  type: 'search'
  /**
   * newest first (time, then seq); never deleted ones
   */
  messages: Message[]
  ref?: string
}

/** Any frame the client sends. */
export type ClientFrame = JoinFrame | LeaveFrame | MessageFrame | HistoryFrame | PingFrame | RefreshFrame | EditFrame | DeleteFrame | TypingFrame | ReadFrame | UnreadFrame | ReadsFrame | ReactFrame | SlowModeFrame | KickFrame | BanFrame | UnbanFrame | MuteFrame | UnmuteFrame | ReportFrame | OpenDmFrame | RoomsFrame | SearchFrame | PushSubscribeFrame | PushUnsubscribeFrame | NotifyFrame

/** Any frame the server sends. */
export type ServerFrame = WelcomeFrame | JoinedFrame | LeftFrame | MessageOutFrame | AckFrame | PresenceFrame | HistoryOutFrame | PongFrame | KickedFrame | RoomDeletedFrame | RefreshedFrame | ErrorFrame | UpdatedFrame | TypingOutFrame | ReadOutFrame | UnreadOutFrame | ReadsOutFrame | DmFrame | RoomsOutFrame | SearchOutFrame

/** The code of an error frame. */
export type ErrorCode = ErrorFrame['code']
