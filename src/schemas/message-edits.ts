import Type, { type Static } from 'typebox'
import { Id, Message } from './common.ts'
import { clientFrame, MessageText } from './frame-base.ts'

/** A retained message's place in its room. */
export const MessageSeq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })

/** Author only: replaces the text of a message that is retained and not deleted. */
export const EditFrame = clientFrame('edit', { room: Id, seq: MessageSeq, text: MessageText })
/** Author only: turns the message into a tombstone that keeps its seq. */
export const DeleteFrame = clientFrame('delete', { room: Id, seq: MessageSeq })

/** To every member after an edit or delete, and on a join with since for older changed messages. */
export const UpdatedFrame = Type.Object({ type: Type.Literal('updated'), room: Id, message: Message })

export type EditFrame = Static<typeof EditFrame>
export type DeleteFrame = Static<typeof DeleteFrame>
export type UpdatedFrame = Static<typeof UpdatedFrame>
