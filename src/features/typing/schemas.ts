import Type, { type Static } from 'typebox'
import { Id } from '../../schemas/common.ts'
import { clientFrame } from '../../schemas/frame-base.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'

/** The user is typing in the room (or stopped, with active: false). Members only; no reply. */
export const TypingFrame = clientFrame('typing', { room: Id, active: Type.Optional(Type.Boolean()) })

/** To every member whenever the set of typing users changes: the user ids now typing, sorted. */
export const TypingOutFrame = Type.Object({ type: Type.Literal('typing'), room: Id, users: Type.Array(Id) })

/** The `typing` event between nodes: the room's typing set after a change. */
export const TypingEvent = Type.Object({ users: Type.Array(Id) })

export type TypingFrame = Static<typeof TypingFrame>
export type TypingOutFrame = Static<typeof TypingOutFrame>
export type TypingEvent = Static<typeof TypingEvent>

export const typingProtocol: ProtocolPart = {
  name: 'typing',
  schemas: () => ({ clientFrames: { typing: TypingFrame }, serverFrames: { typing: TypingOutFrame } }),
  summaries: {
    'client.typing': 'The user is typing in the room (repeat every 2 to 3 s), or stopped with `active: false`; no reply',
    'server.typing': 'The users now typing in the room, sorted, whenever that set changes'
  }
}
