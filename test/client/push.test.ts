import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { type ChatClient, fetchPushKey } from '../../src/client/index.ts'
import { httpBase } from '../../src/client/push.ts'
import { http, startServer } from '../helper.ts'
import { startPushService } from '../push/push-service.ts'
import { client, rejectsWith } from './client-helper.ts'
import { pushConfig as basePushConfig, VAPID } from '../features/push/push-helpers.ts'

/** Web Push towards a local push service on 127.0.0.1 (CHAT_PUSH_ALLOWED_HOSTS lets it through), with the default window. */
const pushConfig = basePushConfig({ CHAT_PUSH_COALESCE_MS: 10000 })

async function pushService (t: TestContext) {
  const service = await startPushService()
  t.after(() => service.close())
  return service
}

async function subscriptionsOf (url: string, user: string): Promise<string[]> {
  const exported = await http(url, 'GET', `/users/${user}/export`)
  assert.equal(exported.status, 200)
  return (exported.body.pushSubscriptions as { endpoint: string }[]).map((entry) => entry.endpoint).sort()
}

/** Gives `chat` a read seq in `room` (what makes the rule notify it there: a sender's moves to its message) and leaves the room. */
async function sayAndLeave (chat: ChatClient, room: string): Promise<void> {
  await chat.join(room)
  await chat.send(room, 'here')
  await chat.leave(room)
}

test('pushKey() and fetchPushKey(baseUrl): the VAPID public key, or undefined without Web Push', { timeout: 30_000 }, async (t) => {
  const server = await startServer(t, pushConfig)
  const plain = await startServer(t)
  const chat = client(t, { url: server.wsUrl, user: 'alice' })
  assert.equal(await chat.pushKey(), VAPID.publicKey, 'without a connection: it is plain HTTP beside the WebSocket URL')
  assert.equal(await client(t, { url: plain.wsUrl }).pushKey(), undefined)
  assert.equal(await fetchPushKey(server.url), VAPID.publicKey, 'a base URL without a trailing slash')
  assert.equal(await fetchPushKey(new URL(`${server.url}/`)), VAPID.publicKey)
  assert.equal(await fetchPushKey(plain.url), undefined)

  const refusing = await rejectsWith(fetchPushKey(server.url, async () => ({ status: 429, json: async () => ({}) })), 'rate_limited')
  assert.match(refusing.message, /push\/key answered 429/)
  await rejectsWith(fetchPushKey(server.url, async () => ({ status: 503, json: async () => ({}) })), 'internal')
  await rejectsWith(fetchPushKey(server.url, async () => ({ status: 200, json: async () => ({ nokey: true }) })), 'internal')

  assert.equal(httpBase('ws://127.0.0.1:3000/ws'), 'http://127.0.0.1:3000/')
  assert.equal(httpBase('wss://example.com/chat/ws?user=alice'), 'https://example.com/chat/')
})

test('subscribePush, notify and unsubscribePush resolve with their acks; an away user is pushed what its level allows', { timeout: 30_000 }, async (t) => {
  const service = await pushService(t)
  const server = await startServer(t, pushConfig)
  const alice = client(t, { url: server.wsUrl, user: 'alice' })
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  await Promise.all([alice.connect(), bob.connect()])

  // The browser's PushSubscription itself: its toJSON() is what goes out, without expirationTime.
  const subscription = service.subscription('alice')
  const browserLike = { endpoint: subscription.endpoint, toJSON: () => ({ ...subscription, expirationTime: null }) }
  const subscribed = await alice.subscribePush(browserLike)
  assert.equal(subscribed.type, 'ack')
  assert.equal(subscribed.room, undefined, 'the ack names no room')
  const second = service.subscription('alice-phone')
  assert.equal((await alice.subscribePush(second)).type, 'ack', 'the JSON as is')
  assert.deepEqual(await subscriptionsOf(server.url, 'alice'), [subscription.endpoint, second.endpoint].sort())

  await sayAndLeave(alice, 'lobby')
  const level = await alice.notify('lobby', 'mentions')
  assert.deepEqual({ type: level.type, room: level.room }, { type: 'ack', room: 'lobby' })
  await bob.join('lobby')
  await bob.send('lobby', 'nothing for alice')
  const mention = await bob.send('lobby', 'over to you @alice')
  await service.waitFor((received) => received.length === 2)
  for (const push of service.received) {
    assert.deepEqual(push.json(), { type: 'message', room: 'lobby', seq: mention.seq, user: 'bob', text: 'over to you @alice', mentions: ['alice'] })
  }
  assert.deepEqual(service.received.map((push) => push.name).sort(), ['alice', 'alice-phone'], 'one push to each subscription')

  assert.equal((await alice.unsubscribePush(second.endpoint)).type, 'ack')
  assert.deepEqual(await subscriptionsOf(server.url, 'alice'), [subscription.endpoint])
  assert.equal((await alice.notify('lobby')).room, 'lobby', 'level all by default')
})

test('subscribePush and notify reject with the server\'s codes, or at once for what is not a subscription', { timeout: 30_000 }, async (t) => {
  const server = await startServer(t, pushConfig)
  const chat = client(t, { url: server.wsUrl, user: 'alice' })
  await chat.connect()
  const keys = { p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url'), auth: Buffer.alloc(16, 2).toString('base64url') }
  const inside = await rejectsWith(chat.subscribePush({ endpoint: 'https://10.1.2.3/push/x', keys }), 'bad_request')
  assert.match(inside.message, /private|loopback|link-local/)
  await rejectsWith(chat.subscribePush({ endpoint: 'http://push.example.com/x', keys }), 'bad_request')
  await rejectsWith(chat.subscribePush({ endpoint: 'https://push.example.com/x', keys: { ...keys, auth: 'AAAA' } }), 'bad_request')
  // Checked by the client: a subscription without keys (a browser's toJSON() before it has them) never goes out.
  await rejectsWith(chat.subscribePush({ toJSON: () => ({ endpoint: 'https://push.example.com/x' }) }), 'bad_request')
  assert.deepEqual(await subscriptionsOf(server.url, 'alice'), [])

  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'staff', private: true })).status, 201)
  const refused = await rejectsWith(chat.notify('staff', 'all'), 'forbidden')
  assert.equal(refused.room, 'staff')
  await rejectsWith(chat.notify('lobby', 'loud' as 'all'), 'bad_request')
})
