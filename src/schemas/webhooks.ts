import Type, { type Static } from 'typebox'
import { Id } from './common.ts'
import type { EventDefinition, SchemaBuilder } from './protocol-part.ts'
import { Room } from './rest.ts'

/** An event type: `message.created`, `reaction.added`… (lower case, dot-separated). */
export const EventTypeName = Type.String({ pattern: '^[a-z_]+(\\.[a-z_]+)+$', description: 'the event type, such as message.created' })
/** A name of an event type; the core's and every feature's are listed in the composed protocol. */
export type EventType = string

/** An event id: a UUID, the Standard Webhooks `webhook-id` of every delivery of the event. */
export const EventId = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,100}$', description: 'unique per event; the `webhook-id` header' })

const UserData = Type.Object({ user: Id })

/** The core's events: messages stored, rooms changed, presence, kicks. Features add theirs. */
export function coreEvents (build: SchemaBuilder): Record<string, EventDefinition> {
  return {
    'message.created': { data: build.message, description: 'A message was stored (WebSocket or REST); `data` is the message' },
    'room.created': { data: Room, description: 'A room was created (REST, or a join that auto-created it); `data` is the room' },
    'room.updated': { data: Room, description: 'A room was changed with PATCH /rooms/:id; `data` is the room as it now is' },
    'room.deleted': { data: Type.Object({ id: Id }), description: 'A room was deleted; `data` is `{id}`' },
    'presence.join': { data: UserData, description: "A user's first connection joined the room (whether or not others are in it)" },
    'presence.leave': { data: UserData, description: "A user's last connection left the room (closed, left, kicked, or its node died)" },
    'member.kicked': { data: Type.Object({ user: Id, reason: Type.String() }), description: "A user's connections were removed from the room: a revoked grant, or a moderator's kick or ban" }
  }
}

/** The body of an event's POST: `{id, type, time, room, data}`. */
export function eventSchema (type: string, definition: EventDefinition) {
  return Type.Object({
    id: EventId,
    type: Type.Literal(type),
    time: Type.String({ format: 'date-time', description: 'when the change happened' }),
    room: Id,
    data: definition.data
  }, { description: definition.description })
}

/** The headers of every delivery, as the Standard Webhooks specification names them. */
export const WebhookHeaders = Type.Object({
  'webhook-id': Type.String({ description: 'the event id; the same on every retry, so receivers drop duplicates by it' }),
  'webhook-timestamp': Type.String({ pattern: '^[0-9]+$', description: 'seconds since the epoch when this attempt was signed' }),
  // eslint-disable-next-line no-template-curly-in-string -- the signed content, written as the specification writes it
  'webhook-signature': Type.String({ pattern: '^v1,', description: 'v1,<base64 HMAC-SHA256 of `${id}.${timestamp}.${body}`> with the secret of CHAT_WEBHOOK_SECRET' })
})

// ---- REST: parked events ----------------------------------------------------------------

export const FailedEvent = Type.Object({
  id: EventId,
  type: EventTypeName,
  room: Id,
  url: Type.String({ description: 'the URL the event was parked for' }),
  attempts: Type.Integer({ minimum: 1, description: 'attempts made' }),
  lastError: Type.String({ description: 'what the last attempt got: an HTTP status, a connection error or a timeout' })
})
export type FailedEvent = Static<typeof FailedEvent>

export const FAILED_LIMIT_MAX = 1000
export const FailedQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: FAILED_LIMIT_MAX, default: FAILED_LIMIT_MAX, description: `events listed at most; ${FAILED_LIMIT_MAX} when absent` }))
})
export const FailedList = Type.Object({
  events: Type.Array(FailedEvent, { description: 'one entry per event and URL it was parked for' })
})
export const FailedParams = Type.Object({ id: EventId })
