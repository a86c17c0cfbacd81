import Type, { type Static } from 'typebox'
import { Id, Seq } from '../../schemas/common.ts'
import { clientFrame } from '../../schemas/frame-base.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'

const Base64Url = (description: string) => Type.String({ pattern: '^[A-Za-z0-9_-]+=*$', maxLength: 200, description })

/** A browser's `PushSubscription.toJSON()`: where to push, and the keys to encrypt for (RFC 8291). */
export const PushSubscription = Type.Object({
  endpoint: Type.String({ minLength: 1, maxLength: 2048, description: 'the push service URL of this browser (https; a host of CHAT_PUSH_ALLOWED_HOSTS may be http)' }),
  keys: Type.Object({
    p256dh: Base64Url("the browser's P-256 public key, URL-safe base64 (65 bytes)"),
    auth: Base64Url('the authentication secret, URL-safe base64 (16 bytes)')
  })
})
export type PushSubscription = Static<typeof PushSubscription>

/** What a user is notified of in a room: every message, messages that mention it, or nothing. */
export const NotifyLevel = Type.Union([Type.Literal('all'), Type.Literal('mentions'), Type.Literal('none')], {
  description: 'all: every message; mentions: messages that mention the user; none: nothing'
})
export type NotifyLevel = Static<typeof NotifyLevel>

export const PushSubscribeFrame = clientFrame('push_subscribe', { subscription: PushSubscription })
export const PushUnsubscribeFrame = clientFrame('push_unsubscribe', { endpoint: Type.String({ minLength: 1, maxLength: 2048 }) })
export const NotifyFrame = clientFrame('notify', { room: Id, level: Type.Optional(NotifyLevel) })
export type PushSubscribeFrame = Static<typeof PushSubscribeFrame>
export type PushUnsubscribeFrame = Static<typeof PushUnsubscribeFrame>
export type NotifyFrame = Static<typeof NotifyFrame>

/** The payload of a push: the message that made it due (its text cut to 200 code points). */
export const PushPayload = Type.Object({
  type: Type.Literal('message'),
  room: Id,
  seq: Seq,
  user: Id,
  text: Type.String({ description: 'the first 200 code points of the text' }),
  mentions: Type.Optional(Type.Array(Id))
})
export type PushPayload = Static<typeof PushPayload>

export const PushKey = Type.Object({ key: Type.String({ description: 'the VAPID public key (URL-safe base64): `applicationServerKey` of PushManager.subscribe' }) })

export const pushProtocol: ProtocolPart = {
  name: 'push',
  schemas: () => ({
    clientFrames: { push_subscribe: PushSubscribeFrame, push_unsubscribe: PushUnsubscribeFrame, notify: NotifyFrame },
    events: {
      'notification.due': {
        data: Type.Object({ user: Id, seq: Seq }),
        description: 'A user away from the room is due a notification of message `seq` (coalesced per user and room as pushes are): for an app\'s own FCM or APNs sender'
      }
    }
  }),
  summaries: {
    'client.push_subscribe': "Registers the browser's Web Push subscription for the connection's user (an endpoint belongs to one user: the last who registered it); answered `ack`",
    'client.push_unsubscribe': 'Removes one of the user\'s Web Push subscriptions by its endpoint; answered `ack`',
    'client.notify': 'Sets what the user is notified of in a room (all, mentions, none); answered `ack` with the room'
  }
}
