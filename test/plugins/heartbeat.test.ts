import assert from 'node:assert/strict'
import { test } from 'node:test'
import { WebSocket } from 'ws'
import { connectAs, eventually, http, startServer } from '../helper.ts'

const HEARTBEAT_MS = 200
const MUTE_HEARTBEAT_MS = 1000

test('a peer that never answers pings is terminated and cleaned up everywhere', async (t) => {
  // Long enough for the joins below to finish before the mute peer's first missed pong,
  // even on a loaded machine.
  const server = await startServer(t, { CHAT_HEARTBEAT_MS: MUTE_HEARTBEAT_MS })
  const alice = await connectAs(t, server, 'alice')
  // ws answers pings by itself unless told not to.
  const mute = await connectAs(t, server, 'mute', { autoPong: false })
  let pings = 0
  mute.ws.on('ping', () => { pings++ })
  await alice.join('room')
  await mute.join('room')
  assert.equal((await alice.next('presence')).event, 'join')
  assert.equal(server.app.connectionRegistry.size, 2)

  // The contract allows two intervals after the last pong; the bound here is generous.
  const closed = await Promise.race([
    mute.closed,
    new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('mute peer still connected')), 20 * MUTE_HEARTBEAT_MS).unref())
  ])
  assert.equal(closed.code, 1006, 'terminated, not closed politely')
  assert.ok(pings >= 1, 'it was pinged before being dropped')

  const leave = await alice.next('presence')
  assert.deepEqual([leave.room, leave.event, leave.user], ['room', 'leave', 'mute'])
  await eventually(() => server.app.connectionRegistry.size === 1, 5000, 'registry cleanup')
  const metrics = await http(server.url, 'GET', '/metrics')
  assert.match(metrics.text, /^chat_heartbeat_timeouts_total 1$/m)
  const online = await http(server.url, 'GET', '/rooms/room/online')
  assert.deepEqual(online.body, { users: [{ user: 'alice', connections: 1 }] })
  const room = await http(server.url, 'GET', '/rooms/room')
  assert.equal(room.body.online, 1)
  // A message to the room now reaches alice alone, without error.
  const ack = await alice.request({ type: 'message', room: 'room', text: 'anyone?' })
  assert.equal(ack.type, 'ack')
})

test('a client that answers pings stays connected across many intervals', async (t) => {
  const server = await startServer(t, { CHAT_HEARTBEAT_MS: HEARTBEAT_MS })
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('room')
  await bob.join('room')
  let pings = 0
  alice.ws.on('ping', () => { pings++ })

  await eventually(() => pings >= 5, 30 * HEARTBEAT_MS, 'five pings')
  assert.equal(alice.ws.readyState, WebSocket.OPEN)
  assert.equal(bob.ws.readyState, WebSocket.OPEN)
  assert.equal(server.app.connectionRegistry.size, 2)
  await bob.nothing('presence', 50)
  assert.equal((await alice.request({ type: 'ping' })).type, 'pong')
  await alice.request({ type: 'message', room: 'room', text: 'still here' })
  assert.equal((await bob.next('message')).text, 'still here')
  const online = await http(server.url, 'GET', '/rooms/room/online')
  assert.equal(online.body.users.length, 2)
})
