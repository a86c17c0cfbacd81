import Type from 'typebox'
import { ClientId, Id } from './common.ts'

/** POST /rooms/:id/messages body; the text limit is CHAT_MAX_TEXT. */
export const postMessageBody = (maxText: number) => Type.Object({
  text: Type.String({ minLength: 1, maxLength: maxText }),
  user: Type.Optional(Id),
  clientId: Type.Optional(ClientId)
})
