import Type, { type Static } from 'typebox'

/** User ids and room ids: the contract's id pattern. */
export const ID_PATTERN = '^[A-Za-z0-9_.-]{1,64}$'
export const idRegExp = new RegExp(ID_PATTERN)

export const Id = Type.String({ pattern: ID_PATTERN, description: 'matches ' + ID_PATTERN })
export const Seq = Type.Integer({ minimum: 0 })
/** Page size of history and room lists: 1 to 100, 50 when not given. */
export const LIMIT_DEFAULT = 50
export const Limit = Type.Integer({ minimum: 1, maximum: 100, default: LIMIT_DEFAULT })
export const IsoTime = Type.String({ format: 'date-time' })

/** A sender's idempotency key: a repeat within 24 hours is not stored again. */
export const CLIENT_ID_PATTERN = '^[A-Za-z0-9_.:-]{1,64}$'
export const ClientId = Type.String({
  pattern: CLIENT_ID_PATTERN,
  description: "the sender's idempotency key: a repeat by the same user in the same room within 24 hours is not stored again"
})

export const ERROR_CODES = [
  'bad_request', 'unauthorized', 'forbidden', 'not_found', 'not_member', 'rate_limited', 'internal'
] as const
export type ErrorCode = typeof ERROR_CODES[number]

/**
 * The seq of the message a frame or a call is about. Any integer from 0 is well formed; one that
 * names no retained message (0 never does) is answered not_found, not bad_request.
 */
export const MessageSeq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "a message's seq" })

/**
 * The core's fields of a stored chat message. Features add theirs (edits, reactions, replies…):
 * the message object of the protocol is composed from all of them (src/protocol/compose.ts), and
 * stores keep every field a feature sets beside these.
 */
export const MessageCore = {
  room: Id,
  seq: Type.Integer({ minimum: 1 }),
  id: Type.String(),
  user: Id,
  text: Type.String(),
  time: IsoTime,
  clientId: Type.Optional(ClientId)
}
export const Message = Type.Object(MessageCore)
/**
 * A message as the core handles it. The fields features set travel with it unread by the core;
 * a feature reads its own through its type (`Message & Static<typeof ItsFields>`).
 */
export type Message = Static<typeof Message>
