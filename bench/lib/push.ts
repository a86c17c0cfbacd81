import { createECDH, randomBytes } from 'node:crypto'
import webPush from 'web-push'
import WebSocket from 'ws'
import type { ServerHandle } from './servers.ts'
import { type Sink, startSink } from './sink.ts'

/**
 * The push scenario's targets: the chat load with half of each room's members away (a read seq,
 * a Web Push subscription, no connection), on the service without Web Push, with it (the
 * default 10 s window per user and room), and with a 1 ms window, where every message is a push
 * to every away member: what one node sends at most while it carries the chat.
 */
export const PUSH_TARGETS = ['no-push', 'push', 'push-every'] as const
export type PushTarget = typeof PUSH_TARGETS[number]

export type PushSink = Sink

/**
 * A push service on loopback that answers 201 once it has read a request, as a browser
 * vendor's does; it does not decrypt (test/push/push-service.ts does, in the tests), so the
 * benchmark's client core is not spent on it.
 */
export const startPushSink = (): Promise<PushSink> => startSink(201)

const VAPID = webPush.generateVAPIDKeys()

/** The service's environment for a target. */
export function pushEnv (target: PushTarget): Record<string, string> {
  // Every target takes the away members' subscriptions (to the sink on loopback); only the push targets send.
  const allowed = { CHAT_PUSH_ALLOWED_HOSTS: '127.0.0.1' }
  if (target === 'no-push') return allowed
  return {
    ...allowed,
    CHAT_VAPID_PUBLIC_KEY: VAPID.publicKey,
    CHAT_VAPID_PRIVATE_KEY: VAPID.privateKey,
    CHAT_VAPID_SUBJECT: 'mailto:bench@example.com',
    ...(target === 'push-every' ? { CHAT_PUSH_COALESCE_MS: '1' } : {})
  }
}

/** Members joined at once, while the away members are made. */
const PARALLEL = 20

/**
 * Makes `perRoom` away members in each room the chat load uses (`room<i>`): each connects,
 * joins (its first join gives it a read seq), registers a subscription to the sink, and leaves.
 */
export async function awayMembers (server: ServerHandle, rooms: number, perRoom: number, sink: PushSink): Promise<void> {
  // One valid P-256 public key for every subscription: the server encrypts each push all the same.
  const p256dh = createECDH('prime256v1').generateKeys().toString('base64url')
  const members = Array.from({ length: rooms * perRoom }, (_, index) => ({ user: `away${index}`, room: `room${index % rooms}` }))
  let next = 0
  const worker = async () => {
    while (next < members.length) {
      const { user, room } = members[next++]!
      await away(server.clientUrl, user, room, { endpoint: `${sink.origin}/push/${user}`, keys: { p256dh, auth: randomBytes(16).toString('base64url') } })
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker))
}

function away (url: string, user: string, room: string, subscription: object): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}?user=${user}`, { perMessageDeflate: false })
    const timer = setTimeout(() => {
      ws.terminate()
      reject(new Error(`away member ${user}: no answer within 10 s`))
    }, 10_000)
    ws.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string, ref?: string, message?: string }
      if (frame.type === 'welcome') ws.send(JSON.stringify({ type: 'join', room, ref: 'j' }))
      else if (frame.type === 'joined') ws.send(JSON.stringify({ type: 'push_subscribe', subscription, ref: 's' }))
      else if (frame.type === 'ack' && frame.ref === 's') {
        clearTimeout(timer)
        ws.close()
        resolve()
      } else if (frame.type === 'error') {
        clearTimeout(timer)
        ws.terminate()
        reject(new Error(`away member ${user}: ${frame.message ?? 'error'}`))
      }
    })
  })
}
