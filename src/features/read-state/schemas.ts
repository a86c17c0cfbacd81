import Type, { type Static } from 'typebox'
import { Id, Seq } from '../../schemas/common.ts'
import { clientFrame, OptionalRef } from '../../schemas/frame-base.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'

/** The user has read the room up to seq (0 to the room's latest). Members only. */
export const ReadFrame = clientFrame('read', { room: Id, seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) })
/** Asks for the user's unread counts in every room where it has a read seq. */
export const UnreadFrame = clientFrame('unread', {})
/** Asks who has read the room how far ("seen by"). Members only. */
export const ReadsFrame = clientFrame('reads', { room: Id })

export const UserRead = Type.Object({ user: Id, seq: Seq })
export const RoomUnreadFields = {
  room: Id,
  seq: Type.Integer({ minimum: 0, description: "the room's latest seq" }),
  readSeq: Type.Integer({ minimum: 0, description: "the user's read seq in the room" }),
  unread: Type.Integer({ minimum: 0, description: 'seq - readSeq' })
}
export const RoomUnread = Type.Object(RoomUnreadFields)

/** To every member of the room when a read frame moved a user's read seq. */
export const ReadOutFrame = Type.Object({ type: Type.Literal('read'), room: Id, user: Id, seq: Seq })
/** The `read` event between nodes: a user's read seq moved. */
export const ReadEvent = Type.Object({ user: Id, seq: Seq })

export type ReadFrame = Static<typeof ReadFrame>
export type UnreadFrame = Static<typeof UnreadFrame>
export type ReadsFrame = Static<typeof ReadsFrame>
export type UserRead = Static<typeof UserRead>
/** An unread entry, with whatever fields features add to it (mentions…). */
export type RoomUnread = Static<typeof RoomUnread> & Record<string, unknown>
export type ReadOutFrame = Static<typeof ReadOutFrame>
export type ReadEvent = Static<typeof ReadEvent>

export const readStateProtocol: ProtocolPart = {
  name: 'read-state',
  extends: {
    'server.joined': { readSeq: Type.Optional(Type.Integer({ minimum: 0, description: "the user's read seq in the room" })) }
  },
  schemas: (build) => {
    const unread = build.object('RoomUnread', RoomUnreadFields)
    return {
      clientFrames: { read: ReadFrame, unread: UnreadFrame, reads: ReadsFrame },
      serverFrames: {
        read: ReadOutFrame,
        unread: Type.Object({ type: Type.Literal('unread'), rooms: Type.Array(unread), ...OptionalRef }),
        reads: Type.Object({ type: Type.Literal('reads'), room: Id, reads: Type.Array(UserRead), ...OptionalRef })
      }
    }
  },
  summaries: {
    'client.read': 'The user has read the room up to `seq`; members get `read` when it moves',
    'client.unread': "The user's unread counts in every room where it has a read seq",
    'client.reads': 'Who has read the room how far ("seen by")',
    'server.read': "A user's read seq in the room moved",
    'server.unread': 'Answer to `unread`',
    'server.reads': 'Answer to `reads`'
  }
}
