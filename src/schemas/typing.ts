import Type, { type Static } from 'typebox'
import { Id } from './common.ts'
import { clientFrame } from './frame-base.ts'

/** The user is typing in the room (or stopped, with active: false). Members only; no reply. */
export const TypingFrame = clientFrame('typing', { room: Id, active: Type.Optional(Type.Boolean()) })

/** To every member whenever the set of typing users changes: the user ids now typing, sorted. */
export const TypingOutFrame = Type.Object({ type: Type.Literal('typing'), room: Id, users: Type.Array(Id) })

export type TypingFrame = Static<typeof TypingFrame>
export type TypingOutFrame = Static<typeof TypingOutFrame>
