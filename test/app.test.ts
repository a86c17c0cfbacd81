import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connectAs, http, startServer } from './helper.ts'

test('a first chat session: join, message, ack, history over WS and REST', async (t) => {
  const server = await startServer(t)
  const alice = await connectAs(t, server, 'alice')
  const joined = await alice.join('lobby')
  assert.deepEqual(joined.members, ['alice'])
  assert.equal(joined.seq, 0)
  const ack = await alice.request({ type: 'message', room: 'lobby', text: 'hello' })
  assert.equal(ack.type, 'ack')
  assert.equal(ack.seq, 1)
  const message = await alice.next('message')
  assert.equal(message.text, 'hello')
  const rest = await http(server.url, 'GET', '/rooms/lobby/messages')
  assert.equal(rest.status, 200)
  assert.deepEqual(rest.body.messages.map((m: { text: string }) => m.text), ['hello'])
})
