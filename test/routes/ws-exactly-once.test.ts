import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { connect, connectAs, http, spawnServer, startServer, tempDir, tryUpgrade, type Frame } from '../helper.ts'

const messageOf = (clientId: string) => (frame: Frame) => frame.type === 'message' && frame.clientId === clientId

test('a repeated clientId over WebSocket is acknowledged as a duplicate and neither stored nor broadcast', async (t) => {
  const server = await startServer(t)
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')

  const first = await alice.request({ type: 'message', room: 'lobby', text: 'hello', clientId: 'a-1' })
  assert.deepEqual(Object.keys(first).sort(), ['id', 'ref', 'room', 'seq', 'type'], 'a first send is a plain ack')
  const broadcast = await bob.next('message')
  assert.equal(broadcast.clientId, 'a-1', 'the broadcast carries the clientId')
  assert.equal(broadcast.seq, first.seq)
  assert.equal((await alice.next('message')).clientId, 'a-1', 'the sender gets its message too')

  const again = await alice.request({ type: 'message', room: 'lobby', text: 'hello', clientId: 'a-1' })
  assert.equal(again.type, 'ack')
  assert.equal(again.duplicate, true)
  assert.equal(again.seq, first.seq)
  assert.equal(again.id, first.id)
  await bob.nothing('message', 300)
  await alice.nothing('message', 0)

  const { body } = await http(server.url, 'GET', '/rooms/lobby/messages')
  assert.deepEqual(body.messages.map((m: Frame) => [m.seq, m.clientId]), [[1, 'a-1']])
})

test('a burst of five identical frames before the first ack stores one message', async (t) => {
  const server = await startServer(t, { CHAT_MSG_RATE: 100 })
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('burst')
  await bob.join('burst')

  // Five frames sent in one go, before the first could be stored and acknowledged.
  for (let i = 0; i < 5; i++) alice.send({ type: 'message', room: 'burst', text: 'tap', clientId: 'tap-1', ref: `b${i}` })
  const acks = await Promise.all(Array.from({ length: 5 }, (_, i) => alice.next((frame) => frame.ref === `b${i}`)))
  assert.deepEqual(acks.map((ack) => ack.type), ['ack', 'ack', 'ack', 'ack', 'ack'])
  assert.equal(new Set(acks.map((ack) => ack.seq)).size, 1, 'every ack names the same seq')
  assert.equal(acks.filter((ack) => ack.duplicate !== true).length, 1, 'exactly one ack is not a duplicate')
  assert.equal((await bob.next(messageOf('tap-1'))).seq, acks[0]!.seq)
  await bob.nothing('message', 300)
  const { body } = await http(server.url, 'GET', '/rooms/burst/messages')
  assert.equal(body.messages.length, 1)
})

test('a repeat after a reconnect is a duplicate; the key is per user and per room', async (t) => {
  const server = await startServer(t)
  const first = await connectAs(t, server, 'alice')
  await first.join('lobby')
  await first.join('other')
  const ack = await first.request({ type: 'message', room: 'lobby', text: 'sent before a drop', clientId: 'once' })
  first.ws.terminate()

  const second = await connectAs(t, server, 'alice')
  await second.join('lobby', { since: ack.seq })
  const retry = await second.request({ type: 'message', room: 'lobby', text: 'sent before a drop', clientId: 'once' })
  assert.equal(retry.duplicate, true)
  assert.equal(retry.id, ack.id)

  await second.join('other')
  const elsewhere = await second.request({ type: 'message', room: 'other', text: 'x', clientId: 'once' })
  assert.equal(elsewhere.duplicate, undefined, 'the same clientId in another room is a new message')
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  const bobs = await bob.request({ type: 'message', room: 'lobby', text: 'x', clientId: 'once' })
  assert.equal(bobs.duplicate, undefined, 'the same clientId of another user is a new message')
  assert.equal(bobs.seq, ack.seq + 1)
})

test('POST /rooms/:id/messages answers 201 the first time and 200 with the stored message for a repeat', async (t) => {
  const server = await startServer(t)
  await http(server.url, 'POST', '/rooms', { id: 'desk' })
  const alice = await connectAs(t, server, 'alice')
  await alice.join('desk')

  const created = await http(server.url, 'POST', '/rooms/desk/messages', { text: 'from a job', user: 'bot', clientId: 'job-7' })
  assert.equal(created.status, 201)
  assert.equal(created.body.clientId, 'job-7')
  assert.equal((await alice.next('message')).clientId, 'job-7')

  const repeat = await http(server.url, 'POST', '/rooms/desk/messages', { text: 'from a job', user: 'bot', clientId: 'job-7' })
  assert.equal(repeat.status, 200)
  assert.deepEqual(repeat.body, created.body)
  await alice.nothing('message', 300)

  // The key spans transports: a WebSocket send repeated over REST by the same user.
  const ack = await alice.request({ type: 'message', room: 'desk', text: 'typed', clientId: 'web-1' })
  await alice.next('message')
  const fromRest = await http(server.url, 'POST', '/rooms/desk/messages', { text: 'typed', user: 'alice', clientId: 'web-1' })
  assert.equal(fromRest.status, 200)
  assert.equal(fromRest.body.seq, ack.seq)
  assert.equal(fromRest.body.id, ack.id)
  assert.equal(fromRest.body.user, 'alice')

  const history = await http(server.url, 'GET', '/rooms/desk/messages')
  assert.deepEqual(history.body.messages.map((m: Frame) => m.clientId), ['job-7', 'web-1'])
})

test('a malformed clientId is refused: bad_request over WebSocket, 400 over REST', async (t) => {
  const server = await startServer(t)
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  for (const clientId of ['', 'has space', 'x'.repeat(65), 7, null]) {
    const reply = await alice.request({ type: 'message', room: 'lobby', text: 'x', clientId })
    assert.equal(reply.type, 'error', JSON.stringify(clientId))
    assert.equal(reply.code, 'bad_request')
    assert.match(reply.message, /clientId/)
    const rest = await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'x', clientId })
    assert.equal(rest.status, 400, JSON.stringify(clientId))
  }
  const ok = await alice.request({ type: 'message', room: 'lobby', text: 'fine', clientId: 'A.b_c:d-9' })
  assert.equal(ok.type, 'ack', 'the connection stays usable and every allowed character is accepted')
  assert.equal(ok.seq, 1)
})

test('dev mode: an empty or malformed ?user= is 400 before the upgrade; no ?user= is a guest', async (t) => {
  const server = await startServer(t)
  for (const query of ['?user=', '?user=a%20b', '?user=a&user=b']) {
    const result = await tryUpgrade(server.wsUrl + query)
    assert.equal(result.status, 400, query)
    assert.match(result.body?.message ?? '', /user must match/)
  }
  const { client, welcome } = await connect(server.wsUrl)
  t.after(() => client.ws.terminate())
  assert.match(welcome.user, /^guest-/)
})

test('a clientId is remembered across a SIGKILL and restart on the same file', async (t) => {
  const db = join(tempDir(t), 'chat.sqlite')
  const first = await spawnServer(t, { CHAT_DB: db })
  const { client: alice } = await connect(`${first.wsUrl}?user=alice`)
  t.after(() => alice.ws.terminate())
  await alice.join('durable')
  const ack = await alice.request({ type: 'message', room: 'durable', text: 'before the crash', clientId: 'crash-1' })
  first.child.kill('SIGKILL')
  await first.exited

  const second = await spawnServer(t, { CHAT_DB: db })
  const { client: again } = await connect(`${second.wsUrl}?user=alice`)
  t.after(() => again.ws.terminate())
  await again.join('durable', { since: 0 })
  const retry = await again.request({ type: 'message', room: 'durable', text: 'before the crash', clientId: 'crash-1' })
  assert.equal(retry.duplicate, true)
  assert.equal(retry.seq, ack.seq)
  assert.equal(retry.id, ack.id)
  const { body } = await http(second.url, 'GET', '/rooms/durable/messages')
  assert.equal(body.messages.length, 1)
})
