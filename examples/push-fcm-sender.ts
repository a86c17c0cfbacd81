/**
 * An app's own phone notifications from the chat service's `notification.due` webhook event: it
 * verifies each request's Standard Webhooks signature, reads the message the notification is
 * for over REST, and sends it to the user's devices through Firebase Cloud Messaging's HTTP v1
 * API (FCM delivers to Android, and to iOS through APNs). docs/push.md tells the whole story.
 *
 *   CHAT_WEBHOOK_SECRET=whsec_… PORT=8080 CHAT_URL=http://localhost:3000 CHAT_ADMIN_TOKEN=… \
 *   FCM_PROJECT=my-project FCM_ACCESS_TOKEN=… DEVICES='{"alice":["<fcm registration token>"]}' \
 *   node --import tsx examples/push-fcm-sender.ts
 *
 * and start the chat service with CHAT_WEBHOOK_URLS=http://localhost:8080/,
 * CHAT_WEBHOOK_SECRET (the same) and CHAT_WEBHOOK_EVENTS=notification.due.
 *
 * FCM_ACCESS_TOKEN is an OAuth 2 access token of a service account with the Firebase Messaging
 * scope (google-auth-library gets one, and renews it hourly); FCM_URL points elsewhere for a
 * test. DEVICES stands for the app's own table of its users' registration tokens, which its
 * mobile app reports at sign-in.
 */
import { createServer, type IncomingMessage } from 'node:http'
import { Webhook } from 'standardwebhooks'

interface ChatEvent { id: string, type: string, time: string, room: string, data: unknown }
interface Due { user: string, seq: number }

const webhook = new Webhook(process.env.CHAT_WEBHOOK_SECRET ?? '')
const chatUrl = process.env.CHAT_URL
const fcmUrl = `${process.env.FCM_URL ?? 'https://fcm.googleapis.com'}/v1/projects/${process.env.FCM_PROJECT ?? ''}/messages:send`
const devices = new Map(Object.entries(JSON.parse(process.env.DEVICES ?? '{}') as Record<string, string[]>))
/**
 * Sends made, by event id and token: delivery is at least once, so an event sent again (after a
 * failure part way, or a lost answer) reaches only the devices it has not reached yet. A real
 * app keeps them in its database for a day.
 */
const sent = new Set<string>()

async function bodyOf (request: IncomingMessage): Promise<string> {
  let body = ''
  for await (const chunk of request) body += String(chunk)
  return body
}

/** The notification's text: the message, read over the chat service's REST API (it may be gone: deleted or trimmed). */
async function messageOf (room: string, seq: number): Promise<{ user: string, text: string } | undefined> {
  if (chatUrl === undefined) return undefined
  const token = process.env.CHAT_ADMIN_TOKEN
  const answer = await fetch(`${chatUrl}/rooms/${encodeURIComponent(room)}/messages?before=${seq + 1}&limit=1`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(2000)
  }).catch(() => { throw new Error('the chat service did not answer') })
  if (answer.status >= 500) throw new Error(`the chat service answered ${answer.status}`)
  const { messages = [] } = answer.ok ? await answer.json() as { messages?: { seq: number, user: string, text: string, deleted?: boolean }[] } : {}
  const message = messages.find((candidate) => candidate.seq === seq && candidate.deleted !== true)
  return message === undefined ? undefined : { user: message.user, text: message.text }
}

/** One FCM send per device; a token FCM no longer knows (404, UNREGISTERED) is forgotten. */
async function notify (id: string, room: string, due: Due): Promise<void> {
  const tokens = (devices.get(due.user) ?? []).filter((token) => !sent.has(`${id} ${token}`))
  if (tokens.length === 0) return
  const message = await messageOf(room, due.seq)
  const notification = message === undefined
    ? { title: room, body: 'New message' }
    : { title: `${message.user} in ${room}`, body: Array.from(message.text).slice(0, 200).join('') }
  for (const token of tokens) {
    const answer = await fetch(fcmUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${process.env.FCM_ACCESS_TOKEN ?? ''}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        message: {
          token,
          notification,
          data: { room, seq: String(due.seq) },
          // One notification per room on the phone: a newer one replaces it.
          android: { collapse_key: room, notification: { tag: room } },
          apns: { headers: { 'apns-collapse-id': room } }
        }
      }),
      signal: AbortSignal.timeout(2000)
    }).catch(() => { throw new Error('FCM did not answer') })
    if (answer.status === 404) devices.set(due.user, (devices.get(due.user) ?? []).filter((known) => known !== token))
    else if (answer.status === 429 || answer.status >= 500) throw new Error(`FCM answered ${answer.status}`)
    else if (!answer.ok) console.error(`FCM refused a push to ${due.user}: ${answer.status} ${await answer.text()}`)
    sent.add(`${id} ${token}`)
  }
}

createServer((request, response) => {
  void (async () => {
    const body = await bodyOf(request)
    let event: ChatEvent
    try {
      event = webhook.verify(body, request.headers as Record<string, string>) as ChatEvent
    } catch {
      return response.writeHead(400).end()
    }
    if (event.type === 'notification.due') {
      try {
        await notify(event.id, event.room, event.data as Due)
      } catch (err) {
        // Not 2xx (within the chat service's 5 s): it sends the event again later, with backoff.
        console.error(`notification of ${event.room} for ${(event.data as Due).user} not sent: ${(err as Error).message}`)
        return response.writeHead(503).end()
      }
      console.log(`notified ${(event.data as Due).user} of ${event.room} #${(event.data as Due).seq}`)
    }
    response.writeHead(204).end()
  })()
}).listen(Number(process.env.PORT ?? 8080), () => console.log(`listening on ${process.env.PORT ?? 8080}`))
