import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connectAs, eventually, http, startServer } from '../helper.ts'

/** A ping frame padded with an unknown field to exactly `bytes` bytes of UTF-8. */
function pingOfSize (bytes: number, ref: string): string {
  const empty = JSON.stringify({ type: 'ping', ref, pad: '' })
  const frame = JSON.stringify({ type: 'ping', ref, pad: 'x'.repeat(bytes - Buffer.byteLength(empty)) })
  assert.equal(Buffer.byteLength(frame), bytes)
  return frame
}

test('CHAT_MAX_PAYLOAD: a frame at the limit is read, one byte more closes with 1009', async (t) => {
  const server = await startServer(t, { CHAT_MAX_PAYLOAD: 1024 })
  const bystander = await connectAs(t, server, 'bystander')
  await bystander.join('lobby')
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')

  alice.send(pingOfSize(1024, 'at-limit'))
  assert.equal((await alice.next((frame) => frame.ref === 'at-limit')).type, 'pong')

  alice.send(pingOfSize(1025, 'over'))
  const closed = await alice.closed
  assert.equal(closed.code, 1009)
  assert.ok(!alice.frames.some((frame) => frame.ref === 'over'), 'the oversized frame was not handled')
  await eventually(() => server.app.connectionRegistry.countForUser('alice') === 0, 5000, 'alice leaving the registry')
  const left = await bystander.next((frame) => frame.type === 'presence' && frame.event === 'leave')
  assert.equal(left.user, 'alice')
  assert.equal((await bystander.request({ type: 'message', room: 'lobby', text: 'unaffected' })).type, 'ack')
})

test('CHAT_MAX_PAYLOAD: a large message frame closes with 1009 and is not stored', async (t) => {
  const server = await startServer(t, { CHAT_MAX_PAYLOAD: 2048, CHAT_MAX_TEXT: 100_000 })
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  alice.send({ type: 'message', room: 'lobby', text: 'y'.repeat(50_000), ref: 'big' })
  assert.equal((await alice.closed).code, 1009)
  const stored = await http(server.url, 'GET', '/rooms/lobby/messages')
  assert.deepEqual(stored.body.messages, [])
})

test('CHAT_MAX_TEXT: a longer text is a bad_request, the connection stays usable', async (t) => {
  const server = await startServer(t, { CHAT_MAX_TEXT: 100 })
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')

  const tooLong = await alice.request({ type: 'message', room: 'lobby', text: 'z'.repeat(101) })
  assert.equal(tooLong.type, 'error')
  assert.equal(tooLong.code, 'bad_request')
  assert.match(tooLong.message, /at most 100 characters/)

  // Characters, not UTF-16 code units: 100 emoji are 200 code units.
  const emoji = await alice.request({ type: 'message', room: 'lobby', text: '😀'.repeat(100) })
  assert.equal(emoji.type, 'ack')
  const emojiTooLong = await alice.request({ type: 'message', room: 'lobby', text: '😀'.repeat(101) })
  assert.equal(emojiTooLong.code, 'bad_request')
  const atLimit = await alice.request({ type: 'message', room: 'lobby', text: 'z'.repeat(100) })
  assert.equal(atLimit.type, 'ack')

  const stored = await http(server.url, 'GET', '/rooms/lobby/messages')
  assert.deepEqual(stored.body.messages.map((message: { seq: number }) => message.seq), [1, 2])

  // The REST API applies the same limit.
  const rest = await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'z'.repeat(101) })
  assert.equal(rest.status, 400)
  assert.equal(rest.body.statusCode, 400)
  assert.equal((await http(server.url, 'GET', '/rooms/lobby/messages')).body.messages.length, 2)
})

test('REST bodies over the body limit are refused with 413, not read', async (t) => {
  const server = await startServer(t, { CHAT_MAX_TEXT: 1_000_000 })
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'lobby' })).status, 201)
  const response = await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'w'.repeat(200_000) })
  assert.equal(response.status, 413)
  assert.equal(response.body.statusCode, 413)
  assert.deepEqual((await http(server.url, 'GET', '/rooms/lobby/messages')).body.messages, [])
})
