import Type, { type Static, type TSchema } from 'typebox'
import { Id, Message } from './common.ts'
import { Room } from './rest.ts'

/** Every event the service sends out, in the order docs/events.md lists them. */
export const EVENT_TYPES = [
  'message.created', 'message.edited', 'message.deleted',
  'room.created', 'room.updated', 'room.deleted',
  'presence.join', 'presence.leave',
  'member.kicked'
] as const
export type EventType = typeof EVENT_TYPES[number]

/** An event id: a UUID, the Standard Webhooks `webhook-id` of every delivery of the event. */
export const EventId = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,100}$', description: 'unique per event; the `webhook-id` header' })

const UserData = Type.Object({ user: Id })

/** What `data` holds for each type. */
const DATA: Record<EventType, TSchema> = {
  'message.created': Message,
  'message.edited': Message,
  'message.deleted': Message,
  'room.created': Room,
  'room.updated': Room,
  'room.deleted': Type.Object({ id: Id }),
  'presence.join': UserData,
  'presence.leave': UserData,
  'member.kicked': Type.Object({ user: Id, reason: Type.String() })
}

export const EVENT_DESCRIPTIONS: Record<EventType, string> = {
  'message.created': 'A message was stored (WebSocket or REST); `data` is the message',
  'message.edited': 'A message was edited; `data` is the whole message as it now is',
  'message.deleted': 'A message was deleted; `data` is its tombstone (text "", deleted, deletedAt)',
  'room.created': 'A room was created (REST, or a join that auto-created it); `data` is the room',
  'room.updated': 'A room was changed with PATCH /rooms/:id; `data` is the room as it now is',
  'room.deleted': 'A room was deleted; `data` is `{id}`',
  'presence.join': "A user's first connection joined the room (whether or not others are in it)",
  'presence.leave': "A user's last connection left the room (closed, left, kicked, or its node died)",
  'member.kicked': "A revoked grant removed the user's connections from the room"
}

function eventSchema (type: EventType) {
  return Type.Object({
    id: EventId,
    type: Type.Literal(type),
    time: Type.String({ format: 'date-time', description: 'when the change happened' }),
    room: Id,
    data: DATA[type]
  }, { description: EVENT_DESCRIPTIONS[type] })
}

/** The body of each event's POST, by type: the registry the AsyncAPI document and the tests read. */
export const webhookEventSchemas = Object.fromEntries(EVENT_TYPES.map((type) => [type, eventSchema(type)])) as
  Record<EventType, ReturnType<typeof eventSchema>>

export const WebhookEvent = Type.Union(EVENT_TYPES.map((type) => webhookEventSchemas[type]))
export type WebhookEvent = Static<typeof WebhookEvent>

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
  type: Type.Union(EVENT_TYPES.map((type) => Type.Literal(type))),
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
