import Type, { type Static, type TObject } from 'typebox'
import { ClientId, Id, ID_PATTERN, IsoTime, Message, Seq } from './common.ts'
import { clientFrame as frame, MessageText, OptionalRef, Ref } from './frame-base.ts'
import type { ProtocolPart, SchemaBuilder } from './protocol-part.ts'
import { coreEvents } from './webhooks.ts'

export { Ref }

// Client → server. Unknown fields are ignored (objects stay open).
export const JoinFrame = frame('join', { room: Id, since: Type.Optional(Seq) })
export const LeaveFrame = frame('leave', { room: Id })
export const MessageFrame = frame('message', { room: Id, text: MessageText, clientId: Type.Optional(ClientId) })
export const HistoryFrame = frame('history', {
  room: Id,
  before: Type.Optional(Type.Integer({ minimum: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 }))
})
export const PingFrame = frame('ping', {})
/** Extension: a fresh JWT that extends the connection past its token's expiry. */
export const RefreshFrame = frame('refresh', { token: Type.String({ minLength: 1, maxLength: 8192 }) })

export type JoinFrame = Static<typeof JoinFrame>
export type LeaveFrame = Static<typeof LeaveFrame>
export type MessageFrame = Static<typeof MessageFrame>
export type HistoryFrame = Static<typeof HistoryFrame>
export type PingFrame = Static<typeof PingFrame>
export type RefreshFrame = Static<typeof RefreshFrame>

// Server → client.
export const WelcomeFrame = Type.Object({
  type: Type.Literal('welcome'), connectionId: Type.String(), user: Id, heartbeatMs: Type.Integer()
})
export const JoinedFrame = Type.Object({
  type: Type.Literal('joined'),
  room: Id,
  seq: Seq,
  members: Type.Array(Id),
  recovered: Type.Optional(Type.Boolean()),
  ...OptionalRef
})
export const LeftFrame = Type.Object({ type: Type.Literal('left'), room: Id, ...OptionalRef })
export const MessageOutFrame = Type.Object({ type: Type.Literal('message'), ...Message.properties })
export const AckFrame = Type.Object({
  type: Type.Literal('ack'),
  ref: Type.Optional(Type.String()),
  room: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'the frame\'s room; absent on acks of push_subscribe and push_unsubscribe, which name none' })),
  seq: Type.Optional(Type.Integer({ description: 'the message\'s seq: on acks of message, edit, delete and react; absent on acks of moderation frames' })),
  id: Type.Optional(Type.String({ description: 'the message\'s id, with seq' })),
  /** True when the frame repeated a clientId: nothing was stored, seq and id are the first message's. */
  duplicate: Type.Optional(Type.Literal(true))
})
export const PresenceFrame = Type.Object({
  type: Type.Literal('presence'),
  room: Id,
  event: Type.Union([Type.Literal('join'), Type.Literal('leave')]),
  user: Id,
  time: IsoTime
})
export const HistoryOutFrame = Type.Object({
  type: Type.Literal('history'), room: Id, messages: Type.Array(Message), ...OptionalRef
})
export const PongFrame = Type.Object({ type: Type.Literal('pong'), ...OptionalRef })
export const KickedFrame = Type.Object({ type: Type.Literal('kicked'), room: Id, reason: Type.String() })
export const RoomDeletedFrame = Type.Object({ type: Type.Literal('room_deleted'), room: Id })
export const RefreshedFrame = Type.Object({ type: Type.Literal('refreshed'), expiresAt: Type.Optional(IsoTime), ...OptionalRef })
export const ErrorFrame = Type.Object({
  type: Type.Literal('error'),
  code: Type.Union([
    Type.Literal('bad_request'), Type.Literal('unauthorized'), Type.Literal('forbidden'), Type.Literal('not_found'),
    Type.Literal('not_member'), Type.Literal('rate_limited'), Type.Literal('internal')
  ]),
  message: Type.String(),
  retryAfterMs: Type.Optional(Type.Integer({ minimum: 1, description: 'with rate_limited from slow mode: ms until the next message may be sent' })),
  ...OptionalRef
})
/**
 * A message changed (an edit, a reaction, a thread's replies…): the whole message as it now is,
 * to every member, and on a join with `since` for older messages changed meanwhile.
 */
export const UpdatedFrame = Type.Object({ type: Type.Literal('updated'), room: Id, message: Message })

export type WelcomeFrame = Static<typeof WelcomeFrame>
/** `joined`, with whatever fields features add to it (readSeq, role…). */
export type JoinedFrame = Static<typeof JoinedFrame> & Record<string, unknown>
export type LeftFrame = Static<typeof LeftFrame>
export type MessageOutFrame = Static<typeof MessageOutFrame>
export type AckFrame = Static<typeof AckFrame>
export type PresenceFrame = Static<typeof PresenceFrame>
export type HistoryOutFrame = Static<typeof HistoryOutFrame>
export type PongFrame = Static<typeof PongFrame>
export type KickedFrame = Static<typeof KickedFrame>
export type RoomDeletedFrame = Static<typeof RoomDeletedFrame>
export type RefreshedFrame = Static<typeof RefreshedFrame>
export type ErrorFrame = Static<typeof ErrorFrame>
export type UpdatedFrame = Static<typeof UpdatedFrame>

/** The core's client frames by type. */
export const coreClientFrames = {
  join: JoinFrame,
  leave: LeaveFrame,
  message: MessageFrame,
  history: HistoryFrame,
  ping: PingFrame,
  refresh: RefreshFrame
}
export type CoreClientFrame = { [K in keyof typeof coreClientFrames]: Static<typeof coreClientFrames[K]> }[keyof typeof coreClientFrames]

/** A frame a feature sends: its type and fields, typed by the feature's own schema. */
export interface FeatureFrame {
  type: string
  ref?: string
  [field: string]: unknown
}

/** Any frame the server sends: the core's, typed here, or a feature's. */
export type ServerFrame =
  | WelcomeFrame | JoinedFrame | LeftFrame | MessageOutFrame | AckFrame | PresenceFrame | HistoryOutFrame | PongFrame
  | KickedFrame | RoomDeletedFrame | RefreshedFrame | ErrorFrame | UpdatedFrame
  | FeatureFrame

/** `frame`, with the fields parts add to `client.<type>` (or `server.<type>`). */
const extended = (build: SchemaBuilder, side: 'client' | 'server', schema: TObject): TObject => {
  const type = (schema.properties.type as unknown as { const: string }).const
  return build.object(`${side}.${type}`, schema.properties)
}

/** The core's part of the protocol: its frames, with the fields features add to them. */
export const coreProtocol: ProtocolPart = {
  name: 'core',
  schemas: (build) => ({
    clientFrames: Object.fromEntries(Object.entries(coreClientFrames).map(([type, schema]) => [type, extended(build, 'client', schema)])),
    serverFrames: Object.fromEntries(Object.entries({
      welcome: WelcomeFrame,
      joined: JoinedFrame,
      left: LeftFrame,
      message: Type.Object({ type: Type.Literal('message'), ...build.message.properties }),
      ack: AckFrame,
      presence: PresenceFrame,
      history: Type.Object({ ...HistoryOutFrame.properties, messages: Type.Array(build.message) }),
      pong: PongFrame,
      kicked: KickedFrame,
      room_deleted: RoomDeletedFrame,
      refreshed: RefreshedFrame,
      error: ErrorFrame,
      updated: Type.Object({ ...UpdatedFrame.properties, message: build.message })
    }).map(([type, schema]) => [type, extended(build, 'server', schema)])),
    events: coreEvents(build)
  }),
  summaries: {
    'client.join': 'Join a room; with `since`, every message after that seq follows the `joined` answer',
    'client.leave': 'Leave a room',
    'client.message': 'Send a message to a room joined before',
    'client.history': 'Read older messages (newest `limit` below `before`), ascending',
    'client.ping': 'Application-level ping, answered by `pong`',
    'client.refresh': 'Extension: a fresh JWT for the same user, extending the connection past its token\'s expiry',
    'server.welcome': 'Always the first frame of a connection',
    'server.joined': 'Answer to `join`: the room\'s latest seq and the users online',
    'server.left': 'Answer to `leave`',
    'server.message': 'A stored message, to every member of the room, the sender included',
    'server.ack': 'To the sender, once its message is stored (or its change made)',
    'server.presence': 'To the other members, when a user\'s first connection joins or its last one leaves',
    'server.history': 'Answer to `history`',
    'server.pong': 'Answer to `ping`',
    'server.kicked': 'The user was removed from the room (grant revoked); no message of the room follows',
    'server.room_deleted': 'The room was deleted; the connection stays open',
    'server.refreshed': 'Answer to `refresh`',
    'server.error': 'A frame could not be served; the connection stays open and usable',
    'server.updated': 'A message changed (edited, deleted, reacted to, replied to): the whole message as it now is'
  }
}
