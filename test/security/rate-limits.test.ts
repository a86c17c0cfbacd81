import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { WebSocket } from 'ws'
import { connectAs, eventually, type Frame, http, startServer, type TestClient, tryUpgrade } from '../helper.ts'

/** Resolves with 101 when the upgrade succeeds (the client stays open), else the HTTP status, headers and body. */
const attempt = (url: string) => tryUpgrade(url)

/** Sends `count` pings with refs p0, p1, … in one go and collects the reply to each. */
async function burst (client: TestClient, count: number, prefix = 'p'): Promise<Frame[]> {
  for (let i = 0; i < count; i++) client.send({ type: 'ping', ref: `${prefix}${i}` })
  const replies: Frame[] = []
  for (let i = 0; i < count; i++) replies.push(await client.next((frame) => frame.ref === `${prefix}${i}`))
  return replies
}

test('CHAT_RATE_LIMIT: the call past the limit gets 429 with Retry-After; probes are never limited', async (t) => {
  const server = await startServer(t, { CHAT_RATE_LIMIT: 5 })
  for (let i = 0; i < 5; i++) {
    const response = await http(server.url, 'GET', '/rooms')
    assert.equal(response.status, 200, `call ${i + 1}`)
    assert.equal(response.headers.get('x-ratelimit-limit'), '5')
  }
  const limited = await http(server.url, 'GET', '/rooms')
  assert.equal(limited.status, 429)
  assert.ok(Number(limited.headers.get('retry-after')) > 0, `retry-after: ${limited.headers.get('retry-after')}`)
  assert.equal(limited.body.statusCode, 429)
  assert.equal(limited.body.error, 'Too Many Requests')
  assert.match(limited.body.message, /rate limit/)
  // Writes, unknown routes and upgrades share the same budget.
  const created = await http(server.url, 'POST', '/rooms', { id: 'flood' })
  assert.equal(created.status, 429)
  assert.equal((await http(server.url, 'GET', '/nowhere')).status, 429)
  assert.equal((await attempt(`${server.wsUrl}?user=alice`)).status, 429)
  assert.equal(server.app.connectionRegistry.size, 0)
  assert.equal(await server.app.engine.store.getRoom('flood'), undefined, 'the limited POST had no effect')
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    assert.equal((await http(server.url, 'GET', path)).status, 200, path)
  }
})

test('CHAT_RATE_LIMIT: WebSocket upgrades count, and the one past the limit is refused before the upgrade', async (t) => {
  const server = await startServer(t, { CHAT_RATE_LIMIT: 5 })
  assert.equal((await http(server.url, 'GET', '/rooms')).status, 200)
  assert.equal((await http(server.url, 'GET', '/rooms')).status, 200)
  for (let i = 0; i < 3; i++) {
    const { status, ws } = await attempt(`${server.wsUrl}?user=u${i}`)
    t.after(() => ws.terminate())
    assert.equal(status, 101)
  }
  const refused = await attempt(`${server.wsUrl}?user=u3`)
  assert.equal(refused.status, 429)
  assert.ok(Number(refused.headers['retry-after']) > 0)
  assert.equal(refused.body?.statusCode, 429)
  assert.equal(server.app.connectionRegistry.size, 3)
  assert.equal(server.app.connectionRegistry.countForUser('u3'), 0)
})

test('CHAT_MSG_RATE: a burst past the bucket gets rate_limited errors, and the connection recovers', async (t) => {
  const server = await startServer(t, { CHAT_MSG_RATE: 5 })
  const alice = await connectAs(t, server, 'alice')
  const replies = await burst(alice, 15)
  // The bucket starts full with 2 × 5 tokens.
  assert.deepEqual(replies.slice(0, 10).map((frame) => frame.type), Array(10).fill('pong'))
  for (const [i, frame] of replies.slice(10).entries()) {
    assert.equal(frame.type, 'error')
    assert.equal(frame.code, 'rate_limited')
    assert.equal(frame.ref, `p${10 + i}`, 'the error carries the ref of the dropped frame')
  }
  assert.equal(alice.ws.readyState, WebSocket.OPEN)
  // Refilled at 5 tokens a second.
  await sleep(500)
  assert.equal((await alice.request({ type: 'ping' })).type, 'pong')
  const ack = await alice.request({ type: 'join', room: 'after-burst' })
  assert.equal(ack.type, 'joined')
})

test('the flood rule: up to max(100, 10 × rate) refused frames in 10 s are tolerated, one more closes with 1008', async (t) => {
  const server = await startServer(t, { CHAT_MSG_RATE: 5 })
  const alice = await connectAs(t, server, 'alice')
  const replies = await burst(alice, 110)
  // 10 tokens to start with, and on a loaded machine maybe one more refilled while the burst is read.
  const answered = replies.filter((frame) => frame.type === 'pong').length
  assert.ok(answered >= 10 && answered <= 12, `${answered} pongs`)
  assert.equal(replies.filter((frame) => frame.code === 'rate_limited').length, 110 - answered)
  await alice.nothing(() => true, 200)
  assert.equal(alice.ws.readyState, WebSocket.OPEN, 'up to 100 refused frames are a burst, not a flood')
  // More refused frames in the same window: now it is a flood.
  for (let i = 0; i < 20; i++) alice.send({ type: 'ping', ref: `q${i}` })
  const closed = await alice.closed
  assert.equal(closed.code, 1008)
  assert.match(closed.reason, /rate limit/)
  await eventually(() => server.app.connectionRegistry.size === 0, 5000, 'the flooder leaving the registry')
})

test('a client flooding far past its limit is closed with 1008; others are unaffected', async (t) => {
  const server = await startServer(t, { CHAT_MSG_RATE: 5 })
  const bystander = await connectAs(t, server, 'bystander')
  await bystander.join('lobby')
  const flooder = await connectAs(t, server, 'flooder')
  await flooder.join('lobby')
  const floodStart = performance.now()
  for (let i = 0; i < 600; i++) flooder.send({ type: 'message', room: 'lobby', text: `spam ${i}`, ref: `f${i}` })
  const closed = await flooder.closed
  const floodSeconds = (performance.now() - floodStart) / 1000
  assert.equal(closed.code, 1008)
  await eventually(async () => {
    const online = await http(server.url, 'GET', '/rooms/lobby/online')
    return online.body.users.length === 1 && online.body.users[0].user === 'bystander'
  }, 5000, 'the flooder leaving presence')
  const ack = await bystander.request({ type: 'message', room: 'lobby', text: 'still here' })
  assert.equal(ack.type, 'ack')
  const stored = (await http(server.url, 'GET', '/rooms/lobby/messages?limit=100')).body.messages as Frame[]
  const flooded = stored.filter((message) => message.user === 'flooder').length
  // The join took one token of the ten the bucket starts with; the bucket refills at 5/s
  // while the flood is being read, so a loaded machine may let a few more through.
  const allowed = 9 + Math.ceil(floodSeconds * 5)
  assert.ok(flooded <= allowed, `only the bucket's worth was stored: ${flooded} > ${allowed}`)
  assert.equal(stored.at(-1)?.text, 'still here')
})

test('CHAT_MAX_ROOMS_PER_CONNECTION: a join past the cap is forbidden with a clear message', async (t) => {
  const server = await startServer(t, { CHAT_MAX_ROOMS_PER_CONNECTION: 3 })
  const alice = await connectAs(t, server, 'alice')
  for (const room of ['r1', 'r2', 'r3']) await alice.join(room)
  const refused = await alice.request({ type: 'join', room: 'r4' })
  assert.equal(refused.type, 'error')
  assert.equal(refused.code, 'forbidden')
  assert.match(refused.message, /at most 3 rooms/)
  assert.equal((await http(server.url, 'GET', '/rooms/r4')).body.statusCode, 404, 'r4 was not created')
  // Joining a room already joined is not a new room; leaving frees a place.
  assert.equal((await alice.request({ type: 'join', room: 'r1' })).type, 'joined')
  assert.equal((await alice.request({ type: 'leave', room: 'r2' })).type, 'left')
  assert.equal((await alice.request({ type: 'join', room: 'r4' })).type, 'joined')
  // The cap is per connection.
  const second = await connectAs(t, server, 'alice')
  assert.equal((await second.request({ type: 'join', room: 'r5' })).type, 'joined')
})

test('CHAT_MAX_CONNECTIONS_PER_USER: an upgrade past the cap gets 429', async (t) => {
  const server = await startServer(t, { CHAT_MAX_CONNECTIONS_PER_USER: 2 })
  const first = await connectAs(t, server, 'alice')
  await connectAs(t, server, 'alice')
  const refused = await attempt(`${server.wsUrl}?user=alice`)
  assert.equal(refused.status, 429)
  assert.match(refused.body?.message, /CHAT_MAX_CONNECTIONS_PER_USER/)
  assert.equal(server.app.connectionRegistry.countForUser('alice'), 2)
  // Other users are not affected, and a closed connection frees its place.
  await connectAs(t, server, 'bob')
  first.close()
  await eventually(() => server.app.connectionRegistry.countForUser('alice') === 1, 5000, 'the closed connection leaving')
  await connectAs(t, server, 'alice')
})

test('CHAT_MAX_CONNECTIONS_PER_USER holds for upgrades that race each other', async (t) => {
  const server = await startServer(t, { CHAT_MAX_CONNECTIONS_PER_USER: 2 })
  const outcomes = await Promise.all(Array.from({ length: 8 }, async () => {
    const ws = new WebSocket(`${server.wsUrl}?user=zed`)
    t.after(() => ws.terminate())
    ws.on('error', () => {})
    // Refused with 429 at the upgrade, or with 1008 right after it when both passed the check at once.
    return new Promise<string>((resolve) => {
      ws.once('message', () => resolve('welcome'))
      ws.once('close', () => resolve('refused'))
    })
  }))
  assert.equal(outcomes.filter((outcome) => outcome === 'welcome').length, 2)
  assert.equal(server.app.connectionRegistry.countForUser('zed'), 2)
})

test('CHAT_RATE_LIMIT: refused admin tokens and JWTs count too, so guessing them is limited', async (t) => {
  const server = await startServer(t, { CHAT_RATE_LIMIT: 4, CHAT_ADMIN_TOKEN: 'right-token', CHAT_JWT_SECRET: 'a-secret-for-the-rate-limit-test-0123' })
  assert.equal((await http(server.url, 'GET', '/rooms', undefined, { authorization: 'Bearer guess-1' })).status, 401)
  assert.equal((await http(server.url, 'GET', '/rooms', undefined, { authorization: 'Bearer guess-2' })).status, 401)
  assert.equal((await attempt(`${server.wsUrl}?token=guess-3`)).status, 401)
  assert.equal((await attempt(`${server.wsUrl}?token=guess-4`)).status, 401)
  assert.equal((await http(server.url, 'GET', '/rooms', undefined, { authorization: 'Bearer guess-5' })).status, 429)
  assert.equal((await attempt(`${server.wsUrl}?token=guess-6`)).status, 429)
  assert.equal((await http(server.url, 'GET', '/rooms', undefined, { authorization: 'Bearer right-token' })).status, 429)
})
