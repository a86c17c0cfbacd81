import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { request } from 'undici'
import webPush, { type PushSubscription } from 'web-push'
import { startPushService, type PushService } from './push-service.ts'

const SUBJECT = 'mailto:ops@chat.example'
const vapid = webPush.generateVAPIDKeys()
const vapidDetails = { subject: SUBJECT, publicKey: vapid.publicKey, privateKey: vapid.privateKey }

async function start (t: TestContext): Promise<PushService> {
  const service = await startPushService({ subject: SUBJECT })
  t.after(() => service.close())
  return service
}

/** web-push's request for `subscription`, with `change` applied to its headers. */
function details (subscription: PushSubscription, payload: string, change: (headers: Record<string, string>) => void = () => {}) {
  const built = webPush.generateRequestDetails(subscription, payload, { vapidDetails, TTL: 60, contentEncoding: 'aes128gcm' })
  const headers = Object.fromEntries(Object.entries(built.headers).map(([name, value]) => [name, String(value)]))
  change(headers)
  return { endpoint: built.endpoint, headers, body: built.body }
}

/** Sends what web-push built over plain http, as its own sendNotification would over https. */
async function send (sent: ReturnType<typeof details>, timeoutMs = 5000) {
  const signal = AbortSignal.timeout(timeoutMs)
  const res = await request(sent.endpoint, { method: 'POST', headers: sent.headers, body: sent.body, signal })
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
}

test('decrypts what web-push encrypts and records TTL and VAPID', async (t) => {
  const service = await start(t)
  const alice = service.subscription('alice')
  assert.match(alice.endpoint, new RegExp(`^${service.url}/push/[A-Za-z0-9_-]+$`))
  assert.equal(Buffer.from(alice.keys.p256dh, 'base64url').length, 65)
  assert.equal(Buffer.from(alice.keys.auth, 'base64url').length, 16)

  const small = JSON.stringify({ room: 'lobby', text: 'héllo 👋 — 日本語' })
  const large = JSON.stringify({ room: 'lobby', text: '🚀'.repeat(740) })
  assert.ok(Buffer.byteLength(large) > 2900 && Buffer.byteLength(large) <= 3000)
  for (const payload of [small, large]) {
    const answer = await send(details(alice, payload))
    assert.equal(answer.status, 201, answer.text)
    assert.match(String(answer.headers.location), new RegExp(`^${service.url}/`))
  }

  await service.waitFor((received) => received.length === 2)
  assert.deepEqual(service.received.map((push) => push.payload), [small, large])
  assert.deepEqual(service.received[0].json(), JSON.parse(small))
  for (const push of service.received) {
    assert.equal(push.endpoint, alice.endpoint)
    assert.equal(push.name, 'alice')
    assert.equal(push.ttl, 60)
    assert.equal(push.urgency, 'normal')
    assert.equal(push.vapid.sub, SUBJECT)
    assert.equal(push.vapid.aud, service.url)
    assert.equal(push.vapid.key, vapid.publicKey)
    assert.ok(push.vapid.exp > Date.now() / 1000)
  }
  assert.deepEqual(service.rejected, [])
})

test('refuses a body encrypted for another subscription', async (t) => {
  const service = await start(t)
  const alice = service.subscription('alice')
  const bob = service.subscription('bob')
  const answer = await send(details({ endpoint: alice.endpoint, keys: bob.keys }, 'for bob'))
  assert.equal(answer.status, 400)
  assert.match(answer.text, /decryption failed/)
  assert.deepEqual(service.rejected.map((r) => r.endpoint), [alice.endpoint])
  assert.deepEqual(service.received, [])
})

test('refuses bad VAPID, a missing Authorization and a missing TTL', async (t) => {
  const service = await start(t)
  const alice = service.subscription()
  const other = webPush.generateVAPIDKeys()
  const now = Math.floor(Date.now() / 1000)
  const vapidHeader = (audience: string, subject: string, privateKey: string, expiration?: number) =>
    webPush.getVapidHeaders(audience, subject, vapid.publicKey, privateKey, 'aes128gcm', expiration).Authorization

  const cases: [string, (headers: Record<string, string>) => void, RegExp][] = [
    ['signed by another key', (h) => { h.Authorization = vapidHeader(service.url, SUBJECT, other.privateKey) }, /signature/],
    ['wrong aud', (h) => { h.Authorization = vapidHeader('http://127.0.0.1:1', SUBJECT, vapid.privateKey) }, /aud/],
    ['expired exp', (h) => { h.Authorization = vapidHeader(service.url, SUBJECT, vapid.privateKey, now - 60) }, /exp has passed/],
    ['other subject', (h) => { h.Authorization = vapidHeader(service.url, 'mailto:x@y.example', vapid.privateKey) }, /sub/],
    ['no Authorization', (h) => { delete h.Authorization }, /missing Authorization/],
    ['no TTL', (h) => { delete h.TTL }, /missing TTL/],
    ['bad Urgency', (h) => { h.Urgency = 'urgent' }, /Urgency/],
    ['other Content-Encoding', (h) => { h['Content-Encoding'] = 'aesgcm' }, /Content-Encoding/]
  ]
  for (const [name, change, reason] of cases) {
    const answer = await send(details(alice, 'refused', change))
    assert.equal(answer.status, 400, name)
    assert.match(answer.text, reason, name)
  }
  assert.equal(service.rejected.length, cases.length)
  assert.deepEqual(service.received, [])

  assert.equal((await send(details(alice, 'accepted'))).status, 201)
  await service.waitFor((received) => received.some((push) => push.payload === 'accepted'))
})

test('answers 404 for an unknown endpoint and plays scripted answers in order', async (t) => {
  const service = await start(t)
  const alice = service.subscription('alice')
  const unknown = await send(details({ ...alice, endpoint: `${service.url}/push/expired` }, 'lost'))
  assert.equal(unknown.status, 404)
  assert.deepEqual(service.rejected, [{ endpoint: `${service.url}/push/expired`, reason: 'no such subscription' }])

  service.answer(alice.endpoint, 410, { status: 429, headers: { 'retry-after': '1' } }, 500)
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) {
    const answer = await send(details(alice, `try ${i}`))
    statuses.push(answer.status)
    if (answer.status === 429) assert.equal(answer.headers['retry-after'], '1')
  }
  assert.deepEqual(statuses, [410, 429, 500, 201])
  assert.deepEqual(service.attempts.map((a) => a.status), [404, 410, 429, 500, 201])
  assert.deepEqual(service.received.map((push) => push.payload), ['try 3'])

  service.answer('*', 503)
  assert.equal((await send(details(alice, 'any'))).status, 503)
  assert.equal((await send(details(alice, 'any'))).status, 201)
})

test('hang delays answers past a sender timeout; waitFor rejects with what arrived', async (t) => {
  const service = await start(t)
  const alice = service.subscription('alice')
  service.hang(alice.endpoint, 2000)
  await assert.rejects(send(details(alice, 'slow'), 100), { name: 'TimeoutError' })
  assert.deepEqual(service.attempts.map((a) => a.status), [201])
  service.hang(alice.endpoint, 0)
  assert.equal((await send(details(alice, 'fast'))).status, 201)

  await assert.rejects(service.waitFor((received) => received.length > 5, 100), /within 100 ms[\s\S]*fast/)
})
