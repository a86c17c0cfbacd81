import Type, { type Static } from 'typebox'
import { Id, IsoTime, type Message, MessageSeq } from '../../schemas/common.ts'
import { clientFrame, MessageText } from '../../schemas/frame-base.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'

/** Author only: replaces the text of a message that is retained and not deleted. */
export const EditFrame = clientFrame('edit', { room: Id, seq: MessageSeq, text: MessageText })
/** Author only: turns the message into a tombstone that keeps its seq. */
export const DeleteFrame = clientFrame('delete', { room: Id, seq: MessageSeq })

/** What edits and deletes set on a message. */
export const EditFields = {
  version: Type.Optional(Type.Integer({ minimum: 1, description: '1 for a message never edited, one more per edit' })),
  editedAt: Type.Optional(IsoTime),
  deleted: Type.Optional(Type.Literal(true)),
  deletedAt: Type.Optional(IsoTime)
}

/** PATCH /rooms/:id/messages/:seq; the text limit is CHAT_MAX_TEXT. */
export const EditMessageBody = (maxText: number) => Type.Object({ text: Type.String({ minLength: 1, maxLength: maxText }) })

export type EditFrame = Static<typeof EditFrame>
export type DeleteFrame = Static<typeof DeleteFrame>
/** A message with the fields edits and deletes set on it. */
export type EditedMessage = Message & Static<ReturnType<typeof Type.Object<typeof EditFields>>>

export const editsProtocol: ProtocolPart = {
  name: 'message-edits',
  extends: { Message: EditFields },
  schemas: (build) => ({
    clientFrames: { edit: EditFrame, delete: DeleteFrame },
    events: {
      'message.edited': { data: build.message, description: 'A message was edited; `data` is the whole message as it now is' },
      'message.deleted': { data: build.message, description: 'A message was deleted; `data` is its tombstone (text "", deleted, deletedAt)' }
    }
  }),
  summaries: {
    'client.edit': "Replace the text of one of the user's messages; members get `updated`",
    'client.delete': "Delete one of the user's messages (a tombstone that keeps its seq); members get `updated`"
  }
}
