import Type, { type Static } from 'typebox'

/** The body the service POSTs to CHAT_PRESEND_URL for each message and edit (docs/moderation.md). */
export const PresendRequest = Type.Object({
  room: Type.String(),
  user: Type.String(),
  text: Type.String(),
  replyTo: Type.Optional(Type.Integer({ minimum: 1, description: 'a reply: its thread root\'s seq' })),
  edit: Type.Optional(Type.Integer({ minimum: 1, description: 'an edit: the seq of the message edited' }))
}, { $id: 'PresendRequest' })
export type PresendRequest = Static<typeof PresendRequest>

/** The 200 answer the hook gives. */
export const PresendAnswer = Type.Object({
  action: Type.Union([Type.Literal('allow'), Type.Literal('replace'), Type.Literal('reject')]),
  text: Type.Optional(Type.String({ minLength: 1, description: 'replace: the text to store instead' })),
  reason: Type.Optional(Type.String({ description: 'reject: why, told to the sender' }))
}, { $id: 'PresendAnswer' })
export type PresendAnswer = Static<typeof PresendAnswer>
