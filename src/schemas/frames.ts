import Type, { type Static } from 'typebox'
import { ClientId, Id, IsoTime, Message, Seq } from './common.ts'
import { clientFrame as frame, MessageText, OptionalRef, Ref } from './frame-base.ts'
import { DeleteFrame, EditFrame, UpdatedFrame } from './message-edits.ts'
import { ReadFrame, ReadOutFrame, ReadsFrame, ReadsOutFrame, UnreadFrame, UnreadOutFrame } from './read-state.ts'
import { TypingFrame, TypingOutFrame } from './typing.ts'

export { Ref }
export * from './message-edits.ts'
export * from './read-state.ts'
export * from './typing.ts'

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

/**
 * Every client frame by type. The frame parser validates with these, /metrics counts by these
 * types and the AsyncAPI document describes each one: a frame added here is covered by all three.
 */
export const clientFrameSchemas = {
  join: JoinFrame,
  leave: LeaveFrame,
  message: MessageFrame,
  history: HistoryFrame,
  ping: PingFrame,
  refresh: RefreshFrame,
  edit: EditFrame,
  delete: DeleteFrame,
  typing: TypingFrame,
  read: ReadFrame,
  unread: UnreadFrame,
  reads: ReadsFrame
}
export type ClientFrameType = keyof typeof clientFrameSchemas
export type JoinFrame = Static<typeof JoinFrame>
export type LeaveFrame = Static<typeof LeaveFrame>
export type MessageFrame = Static<typeof MessageFrame>
export type HistoryFrame = Static<typeof HistoryFrame>
export type PingFrame = Static<typeof PingFrame>
export type RefreshFrame = Static<typeof RefreshFrame>
/** Any client frame: one of the registry's, so a frame missing from it cannot be handled. */
export type ClientFrame = { [K in ClientFrameType]: Static<typeof clientFrameSchemas[K]> }[ClientFrameType]

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
  readSeq: Type.Optional(Type.Integer({ minimum: 0, description: "the user's read seq in the room" })),
  ...OptionalRef
})
export const LeftFrame = Type.Object({ type: Type.Literal('left'), room: Id, ...OptionalRef })
export const MessageOutFrame = Type.Object({ type: Type.Literal('message'), ...Message.properties })
export const AckFrame = Type.Object({
  type: Type.Literal('ack'),
  ref: Type.Optional(Type.String()),
  room: Id,
  seq: Type.Integer(),
  id: Type.String(),
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
  ...OptionalRef
})

/**
 * Every server frame by type, for the AsyncAPI document. `ServerFrame` is made from it, so a
 * frame the server sends is necessarily described.
 */
export const serverFrameSchemas = {
  welcome: WelcomeFrame,
  joined: JoinedFrame,
  left: LeftFrame,
  message: MessageOutFrame,
  ack: AckFrame,
  presence: PresenceFrame,
  history: HistoryOutFrame,
  pong: PongFrame,
  kicked: KickedFrame,
  room_deleted: RoomDeletedFrame,
  refreshed: RefreshedFrame,
  error: ErrorFrame,
  updated: UpdatedFrame,
  typing: TypingOutFrame,
  read: ReadOutFrame,
  unread: UnreadOutFrame,
  reads: ReadsOutFrame
}
export type ServerFrameType = keyof typeof serverFrameSchemas

export type WelcomeFrame = Static<typeof WelcomeFrame>
export type JoinedFrame = Static<typeof JoinedFrame>
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
/** Any server frame: one of the registry's. */
export type ServerFrame = { [K in ServerFrameType]: Static<typeof serverFrameSchemas[K]> }[ServerFrameType]
