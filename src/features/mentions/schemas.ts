import Type, { type Static } from 'typebox'
import { Id, type Message } from '../../schemas/common.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'

/** What mentions set on a message: the users its text mentions, in order of first appearance. */
export const MentionFields = {
  mentions: Type.Optional(Type.Array(Id, {
    minItems: 1,
    description: 'the users the text mentions (`@id` at its start or after whitespace), once each, in order of first appearance'
  }))
}

export type MentionedMessage = Message & Static<ReturnType<typeof Type.Object<typeof MentionFields>>>

export const mentionsProtocol: ProtocolPart = {
  name: 'mentions',
  extends: {
    Message: MentionFields,
    RoomUnread: { mentions: Type.Integer({ minimum: 0, description: 'retained messages after readSeq that mention the user' }) }
  }
}
