import type { TestContext } from 'node:test'
import webPush from 'web-push'
import { type Frame, http, type TestClient, type TestServer } from '../../helper.ts'
import { type PushService, type PushSubscriptionJSON, startPushService } from '../../push/push-service.ts'

/** One VAPID key pair for the tests (web-push's own generator). */
export const VAPID = webPush.generateVAPIDKeys()
export const SUBJECT = 'mailto:ops@example.com'

/** A local push service (test/push/push-service.ts), closed when the test ends. */
export async function pushService (t: TestContext): Promise<PushService> {
  const service = await startPushService({ subject: SUBJECT })
  t.after(() => service.close())
  return service
}

/** The server's config for Web Push towards the local push service. */
export const pushConfig = (extra: Record<string, string | number> = {}) => ({
  CHAT_VAPID_PUBLIC_KEY: VAPID.publicKey,
  CHAT_VAPID_PRIVATE_KEY: VAPID.privateKey,
  CHAT_VAPID_SUBJECT: SUBJECT,
  CHAT_PUSH_ALLOWED_HOSTS: '127.0.0.1',
  CHAT_PUSH_COALESCE_MS: 300,
  ...extra
})

/**
 * Makes the client's user one the rule may notify in `room` and leaves it away: it joins (a read
 * seq), subscribes, sets its level, leaves, and its connection closes.
 */
export async function awayUser (client: TestClient, room: string, subscription?: PushSubscriptionJSON, level?: string): Promise<void> {
  // A user's first join of a room gives it a read seq, durable before `joined`.
  await client.join(room)
  if (subscription !== undefined) {
    const ack = await client.request({ type: 'push_subscribe', subscription })
    if (ack.type !== 'ack') throw new Error(`push_subscribe failed: ${JSON.stringify(ack)}`)
  }
  if (level !== undefined) {
    const ack = await client.request({ type: 'notify', room, level })
    if (ack.type !== 'ack') throw new Error(`notify failed: ${JSON.stringify(ack)}`)
  }
  await client.request({ type: 'leave', room })
  client.close()
  await client.closed
}

export async function pushKey (server: TestServer): Promise<Frame> {
  return await http(server.url, 'GET', '/push/key')
}
