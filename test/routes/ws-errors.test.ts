import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { WebSocket } from 'ws'
import { connectAs, eventually, startServer, type Frame, type TestClient } from '../helper.ts'

const MAX_TEXT = 10
// Many bad frames go through one connection here; the rate limit has its own tests.
const SETTINGS = { CHAT_MAX_TEXT: MAX_TEXT, CHAT_MSG_RATE: 10_000 }

/** The connection still works: it answers a ping and can send a message to its room. */
async function assertUsable (client: TestClient, room: string): Promise<void> {
  assert.equal(client.ws.readyState, WebSocket.OPEN)
  const pong = await client.request({ type: 'ping' })
  assert.equal(pong.type, 'pong')
  const ack = await client.request({ type: 'message', room, text: 'ok' })
  assert.equal(ack.type, 'ack', JSON.stringify(ack))
  const echo = await client.next((f) => f.type === 'message' && f.id === ack.id)
  assert.equal(echo.text, 'ok')
}

/** Sends raw text and returns the error it gets. */
async function errorFor (client: TestClient, raw: string): Promise<Frame> {
  client.send(raw)
  const reply = await client.next((f) => f.type !== 'message' && f.type !== 'ack')
  assert.equal(reply.type, 'error', `reply to ${raw.slice(0, 80)}: ${JSON.stringify(reply)}`)
  return reply
}

async function setUp (t: TestContext, overrides = {}) {
  const server = await startServer(t, { ...SETTINGS, ...overrides })
  const client = await connectAs(t, server, 'alice')
  await client.join('room')
  return { server, client }
}

const long65 = 'a'.repeat(65)

/** [what, raw frame, a word the error message must contain] */
const badFrames: [string, string, RegExp][] = [
  ['invalid JSON', '{"type":"ping"', /JSON/],
  ['not JSON at all', 'hello', /JSON/],
  ['an array', '[{"type":"ping"}]', /object/],
  ['a number', '42', /object/],
  ['null', 'null', /object/],
  ['a string', '"ping"', /object/],
  ['an empty object', '{}', /type/],
  ['a type that is not a string', '{"type":7}', /type/],
  ['an unknown type', '{"type":"shout","room":"room"}', /unknown frame type/],
  ['a type named after an Object method', '{"type":"toString"}', /unknown frame type/],
  ['a type __proto__', '{"type":"__proto__"}', /unknown frame type/],
  ['a join without room', '{"type":"join"}', /room/],
  ['a room that is a number', '{"type":"join","room":5}', /room/],
  ['a room with a space', '{"type":"join","room":"a b"}', /room/],
  ['a room of 65 characters', `{"type":"join","room":"${long65}"}`, /room/],
  ['an empty room', '{"type":"join","room":""}', /room/],
  ['since -1', '{"type":"join","room":"room","since":-1}', /since/],
  ['since 1.5', '{"type":"join","room":"room","since":1.5}', /since/],
  ['since a string', '{"type":"join","room":"room","since":"3"}', /since/],
  ['a leave without room', '{"type":"leave"}', /room/],
  ['a message without text', '{"type":"message","room":"room"}', /text/],
  ['text that is a number', '{"type":"message","room":"room","text":5}', /text/],
  ['empty text', '{"type":"message","room":"room","text":""}', /text/],
  ['text over CHAT_MAX_TEXT', JSON.stringify({ type: 'message', room: 'room', text: 'x'.repeat(MAX_TEXT + 1) }), /text/],
  ['emoji over CHAT_MAX_TEXT', JSON.stringify({ type: 'message', room: 'room', text: '😀'.repeat(MAX_TEXT + 1) }), /text/],
  ['a message to a bad room', '{"type":"message","room":"a b","text":"hi"}', /room/],
  ['history limit 0', '{"type":"history","room":"room","limit":0}', /limit/],
  ['history limit 101', '{"type":"history","room":"room","limit":101}', /limit/],
  ['history limit a string', '{"type":"history","room":"room","limit":"5"}', /limit/],
  ['history before 0', '{"type":"history","room":"room","before":0}', /before/],
  ['history before 1.5', '{"type":"history","room":"room","before":1.5}', /before/],
  ['a ref that is a number', '{"type":"ping","ref":5}', /ref/],
  ['a ref that is an object', '{"type":"ping","ref":{"a":1}}', /ref/],
  ['a ref over 64 characters', `{"type":"ping","ref":"${long65}"}`, /ref/],
  ['a bad ref on a bad frame', `{"type":"join","room":"a b","ref":"${long65}"}`, /ref/],
  ['a type hidden in __proto__', '{"__proto__":{"type":"ping"}}', /type/]
]

test('a bad frame gets bad_request naming the problem, and the connection stays usable', async (t) => {
  const { client } = await setUp(t)
  for (const [what, raw, word] of badFrames) {
    await t.test(what, async () => {
      const error = await errorFor(client, raw)
      assert.equal(error.code, 'bad_request')
      assert.match(error.message, word)
      assert.ok(!('ref' in error), `no ref to echo: ${JSON.stringify(error)}`)
      await assertUsable(client, 'room')
    })
  }
  // Nothing above was stored except the messages that checked the connection.
  const history = await client.request({ type: 'history', room: 'room', limit: 100 })
  assert.deepEqual(history.messages.map((m: Frame) => m.text), badFrames.map(() => 'ok'))
})

test('a valid ref is echoed on errors, bad_request and others alike', async (t) => {
  const { client } = await setUp(t)
  const cases: [Frame, string][] = [
    [{ type: 'shout', ref: 'e1' }, 'bad_request'],
    [{ type: 'join', room: 'a b', ref: 'e2' }, 'bad_request'],
    [{ type: 'message', room: 'room', text: '', ref: 'e3' }, 'bad_request'],
    [{ type: 'history', room: 'room', limit: 0, ref: 'e4' }, 'bad_request'],
    [{ type: 'join', room: 'room', since: -1, ref: 'e5' }, 'bad_request'],
    [{ type: 'leave', room: 'elsewhere', ref: 'e6' }, 'not_member'],
    [{ type: 'message', room: 'elsewhere', text: 'hi', ref: 'e7' }, 'not_member'],
    [{ type: 'history', room: 'nowhere', ref: 'e8' }, 'not_found'],
    [{ type: 'ping', ref: '' }, 'pong'],
    [{ type: 'ping', ref: 'x'.repeat(64) }, 'pong']
  ]
  for (const [frame, expected] of cases) {
    client.send(frame)
    const reply = await client.next((f) => f.ref === frame.ref)
    if (expected === 'pong') {
      assert.equal(reply.type, 'pong')
    } else {
      assert.equal(reply.type, 'error', JSON.stringify(reply))
      assert.equal(reply.code, expected, JSON.stringify(frame))
    }
  }
  await client.nothing(() => true, 100)
  await assertUsable(client, 'room')
})

test('unknown fields are ignored; __proto__ and constructor keys are harmless', async (t) => {
  const { client } = await setUp(t)
  const pong = await client.request({ type: 'ping', extra: { deep: [1, 2] }, room: 5 })
  assert.equal(pong.type, 'pong')

  const ack = await client.request({ type: 'message', room: 'room', text: 'colored', color: 'red', user: 'mallory', seq: 99 })
  assert.equal(ack.type, 'ack')
  const message = await client.next('message')
  assert.equal(message.text, 'colored')
  assert.equal(message.user, 'alice', 'a user field in the frame is ignored')
  assert.equal(message.seq, ack.seq)
  assert.ok(!('color' in message))

  // JSON.parse makes own keys of these; they must neither break handling nor pollute prototypes.
  client.send('{"type":"message","room":"room","text":"proto","ref":"p1","__proto__":{"isAdmin":true,"type":"ping"},"constructor":{"prototype":{"polluted":true}}}')
  const protoAck = await client.next((f) => f.ref === 'p1')
  assert.equal(protoAck.type, 'ack')
  const proto = await client.next('message')
  assert.equal(proto.text, 'proto')
  assert.ok(!('isAdmin' in proto))
  client.send('{"type":"join","room":"room2","constructor":"x","hasOwnProperty":1,"ref":"p2"}')
  assert.equal((await client.next((f) => f.ref === 'p2')).type, 'joined')
  client.send('{"type":"ping","__proto__":null,"ref":"p3"}')
  assert.equal((await client.next((f) => f.ref === 'p3')).type, 'pong')
  // The server runs in this process: a polluted prototype would show here.
  const probe: Frame = {}
  assert.equal(probe.isAdmin, undefined)
  assert.equal(probe.polluted, undefined)
  assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false)
  await assertUsable(client, 'room')
})

test('text is counted in characters: CHAT_MAX_TEXT emoji are allowed', async (t) => {
  const { client } = await setUp(t)
  for (const text of ['x'.repeat(MAX_TEXT), '😀'.repeat(MAX_TEXT), 'a', '👍🏽'.repeat(MAX_TEXT / 2)]) {
    const ack = await client.request({ type: 'message', room: 'room', text })
    assert.equal(ack.type, 'ack', `${text}: ${JSON.stringify(ack)}`)
    assert.equal((await client.next('message')).text, text)
  }
})

test('a binary frame gets bad_request and the connection stays open', async (t) => {
  const { client } = await setUp(t)
  client.ws.send(Buffer.from(JSON.stringify({ type: 'ping' })))
  const error = await client.next('error')
  assert.equal(error.code, 'bad_request')
  assert.match(error.message, /binary/)
  await assertUsable(client, 'room')
  await client.nothing('pong', 50)
})

test('a frame over CHAT_MAX_PAYLOAD closes that connection with 1009', async (t) => {
  const { server, client } = await setUp(t, { CHAT_MAX_PAYLOAD: 1024, CHAT_MAX_TEXT: 4000 })
  const other = await connectAs(t, server, 'bob')
  await other.join('room')

  // Just under the limit is fine.
  const fits = JSON.stringify({ type: 'message', room: 'room', text: 'y'.repeat(900) })
  assert.ok(Buffer.byteLength(fits) <= 1024)
  client.send(fits)
  assert.equal((await client.next('ack')).type, 'ack')

  client.send(JSON.stringify({ type: 'message', room: 'room', text: 'z'.repeat(2000) }))
  const { code } = await client.closed
  assert.equal(code, 1009)
  // Only that connection: the other one is untouched and hears of the leave.
  const leave = await other.next('presence')
  assert.deepEqual([leave.event, leave.user], ['leave', 'alice'])
  await eventually(() => server.app.connectionRegistry.size === 1, 5000, 'registry cleanup')
  await assertUsable(other, 'room')
  const texts = (await other.request({ type: 'history', room: 'room' })).messages.map((m: Frame) => m.text.length)
  assert.ok(!texts.includes(2000), 'the oversized message was not stored')
})

test('a text frame that is not valid UTF-8 closes that connection with 1007', async (t) => {
  const { server, client } = await setUp(t)
  const other = await connectAs(t, server, 'bob')
  await other.join('room')
  // {"type":"ping","ref":"<0xff 0xfe>"} sent as a text frame.
  const bytes = Buffer.concat([Buffer.from('{"type":"ping","ref":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])
  client.ws.send(bytes, { binary: false })
  const { code } = await client.closed
  assert.equal(code, 1007)
  await client.nothing('pong', 50)
  await eventually(() => server.app.connectionRegistry.size === 1, 5000, 'registry cleanup')
  await assertUsable(other, 'room')
})
