import Type, { type Static } from 'typebox'
import { Id, Seq } from './common.ts'
import { clientFrame, OptionalRef } from './frame-base.ts'

/** The user has read the room up to seq (0 to the room's latest). Members only. */
export const ReadFrame = clientFrame('read', { room: Id, seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) })
/** Asks for the user's unread counts in every room where it has a read seq. */
export const UnreadFrame = clientFrame('unread', {})
/** Asks who has read the room how far ("seen by"). Members only. */
export const ReadsFrame = clientFrame('reads', { room: Id })

export const UserRead = Type.Object({ user: Id, seq: Seq })
export const RoomUnread = Type.Object({
  room: Id,
  seq: Type.Integer({ minimum: 0, description: "the room's latest seq" }),
  readSeq: Type.Integer({ minimum: 0, description: "the user's read seq in the room" }),
  unread: Type.Integer({ minimum: 0, description: 'seq - readSeq' })
})

/** To every member of the room when a read frame moved a user's read seq. */
export const ReadOutFrame = Type.Object({ type: Type.Literal('read'), room: Id, user: Id, seq: Seq })
export const UnreadOutFrame = Type.Object({ type: Type.Literal('unread'), rooms: Type.Array(RoomUnread), ...OptionalRef })
export const ReadsOutFrame = Type.Object({ type: Type.Literal('reads'), room: Id, reads: Type.Array(UserRead), ...OptionalRef })

export type ReadFrame = Static<typeof ReadFrame>
export type UnreadFrame = Static<typeof UnreadFrame>
export type ReadsFrame = Static<typeof ReadsFrame>
export type UserRead = Static<typeof UserRead>
export type RoomUnread = Static<typeof RoomUnread>
export type ReadOutFrame = Static<typeof ReadOutFrame>
export type UnreadOutFrame = Static<typeof UnreadOutFrame>
export type ReadsOutFrame = Static<typeof ReadsOutFrame>
