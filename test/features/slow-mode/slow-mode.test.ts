import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { engineTest, nodesTest } from '../../engines.ts'
import { ChatError } from '../../../src/client/index.ts'
import { client, joinedTo } from '../../client/client-helper.ts'
import { connectAs, http, type TestServer } from '../../helper.ts'
import { startReceiver, webhookConfig } from '../../webhooks/receiver.ts'

async function roomWithModerator (server: TestServer): Promise<void> {
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'lobby' })).status, 201)
  assert.equal((await http(server.url, 'PUT', '/rooms/lobby/roles/mod', { role: 'moderator' })).status, 204)
}

const slowModeOf = async (server: TestServer) => (await http(server.url, 'GET', '/rooms/lobby')).body.slowModeMs

engineTest('a moderator sets slow mode: a member\'s second message too soon gets rate_limited with retryAfterMs; moderators are exempt', async (start, t) => {
  const server = await start()
  await roomWithModerator(server)
  assert.equal(await slowModeOf(server), 0, 'a new room has no slow mode')
  const mod = await connectAs(t, server, 'mod')
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  // A moderator may act in a room it has not joined.
  assert.deepEqual(await mod.request({ type: 'slow_mode', room: 'lobby', intervalMs: 800 }), { type: 'ack', room: 'lobby', ref: 'r1' })
  assert.equal(await slowModeOf(server), 800, 'room objects carry it')

  const first = await bob.request({ type: 'message', room: 'lobby', text: 'one' })
  assert.equal(first.type, 'ack')
  const tooSoon = await bob.request({ type: 'message', room: 'lobby', text: 'two' })
  assert.equal(tooSoon.type, 'error')
  assert.equal(tooSoon.code, 'rate_limited')
  assert.ok(Number.isInteger(tooSoon.retryAfterMs) && tooSoon.retryAfterMs > 0 && tooSoon.retryAfterMs <= 800, `retryAfterMs ${tooSoon.retryAfterMs}`)
  assert.match(tooSoon.message, /slow mode/)
  const history = await http(server.url, 'GET', '/rooms/lobby/messages')
  assert.deepEqual(history.body.messages.map((m: { text: string }) => m.text), ['one'], 'the refused message is not stored')
  // The connection stays usable, and another frame type is not slowed.
  assert.equal((await bob.request({ type: 'edit', room: 'lobby', seq: first.seq, text: 'one!' })).type, 'ack')

  await mod.join('lobby')
  for (const text of ['mod one', 'mod two', 'mod three']) {
    assert.equal((await mod.request({ type: 'message', room: 'lobby', text })).type, 'ack', 'a moderator is not slowed')
  }
  await sleep(tooSoon.retryAfterMs + 20)
  assert.equal((await bob.request({ type: 'message', room: 'lobby', text: 'three' })).type, 'ack', 'after retryAfterMs it goes through')

  assert.equal((await mod.request({ type: 'slow_mode', room: 'lobby', intervalMs: 0 })).type, 'ack')
  assert.equal(await slowModeOf(server), 0)
  assert.equal((await bob.request({ type: 'message', room: 'lobby', text: 'four' })).type, 'ack', '0 turns it off')
  assert.equal((await bob.request({ type: 'message', room: 'lobby', text: 'five' })).type, 'ack')
})

engineTest('slowModeMs over REST: PATCH sets it, POST may create a room with it; bad values and bad frames change nothing', async (start, t) => {
  const server = await start()
  await roomWithModerator(server)
  const patched = await http(server.url, 'PATCH', '/rooms/lobby', { slowModeMs: 60_000 })
  assert.equal(patched.status, 200)
  assert.equal(patched.body.slowModeMs, 60_000)
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  assert.equal((await bob.request({ type: 'message', room: 'lobby', text: 'one' })).type, 'ack')
  const limited = await bob.request({ type: 'message', room: 'lobby', text: 'two' })
  assert.equal(limited.code, 'rate_limited')
  assert.ok(limited.retryAfterMs > 55_000 && limited.retryAfterMs <= 60_000)

  for (const slowModeMs of [-1, 1.5, '10', 86_400_001]) {
    const refused = await http(server.url, 'PATCH', '/rooms/lobby', { slowModeMs })
    assert.equal(refused.status, 400, `slowModeMs ${JSON.stringify(slowModeMs)}`)
    assert.match(refused.body.message, /slowModeMs/)
  }
  assert.equal(await slowModeOf(server), 60_000, 'unchanged by bad input')
  const created = await http(server.url, 'POST', '/rooms', { id: 'quiet', slowModeMs: 5000 })
  assert.equal(created.body.slowModeMs, 5000)
  assert.equal((await http(server.url, 'GET', '/rooms')).body.rooms.find((room: { id: string }) => room.id === 'quiet').slowModeMs, 5000)

  const mod = await connectAs(t, server, 'mod')
  const negative = await mod.request({ type: 'slow_mode', room: 'lobby', intervalMs: -5 })
  assert.equal(negative.code, 'bad_request')
  assert.equal((await bob.request({ type: 'slow_mode', room: 'lobby', intervalMs: 0 })).code, 'forbidden', 'a member without a role')
  assert.equal((await mod.request({ type: 'slow_mode', room: 'quiet', intervalMs: 0 })).code, 'forbidden', 'a moderator of another room')
  await http(server.url, 'PUT', '/rooms/nowhere/roles/mod', { role: 'moderator' })
  assert.equal((await mod.request({ type: 'slow_mode', room: 'nowhere', intervalMs: 10 })).code, 'forbidden', 'no role in a room that does not exist')
  assert.equal(await slowModeOf(server), 60_000)
  assert.equal((await http(server.url, 'GET', '/rooms/quiet')).body.slowModeMs, 5000)
})

engineTest('a muted member in a slow room is told of the mute, and the refused try takes no slot', async (start, t) => {
  const server = await start()
  await roomWithModerator(server)
  await http(server.url, 'PATCH', '/rooms/lobby', { slowModeMs: 60_000 })
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  await http(server.url, 'PUT', '/rooms/lobby/mutes/bob', {})
  assert.equal((await bob.request({ type: 'message', room: 'lobby', text: 'hi' })).code, 'forbidden')
  await http(server.url, 'DELETE', '/rooms/lobby/mutes/bob')
  assert.equal((await bob.request({ type: 'message', room: 'lobby', text: 'hi' })).type, 'ack', 'the muted try took no slot')
})

engineTest('slow mode changes go out as room.updated with slowModeMs', async (start, t) => {
  const receiver = await startReceiver(t)
  const server = await start(webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'room.updated' }))
  await roomWithModerator(server)
  const mod = await connectAs(t, server, 'mod')
  assert.equal((await mod.request({ type: 'slow_mode', room: 'lobby', intervalMs: 3000 })).type, 'ack')
  const [event] = await receiver.waitFor(1, 'room.updated')
  assert.equal(event!.data.slowModeMs, 3000)
  receiver.assertAllValid()
})

nodesTest('slow mode set on one node holds on the other at once, and one user\'s sends count across nodes', async (start, t) => {
  const a = await start()
  const b = await start()
  await roomWithModerator(a)
  const bobOnA = await connectAs(t, a, 'bob')
  const bobOnB = await connectAs(t, b, 'bob')
  await bobOnA.join('lobby')
  await bobOnB.join('lobby')
  // Node b has read the room's interval (none) before the change.
  assert.equal((await bobOnB.request({ type: 'message', room: 'lobby', text: 'before' })).type, 'ack')
  const mod = await connectAs(t, a, 'mod')
  assert.equal((await mod.request({ type: 'slow_mode', room: 'lobby', intervalMs: 60_000 })).type, 'ack')
  let first
  for (let i = 0; i < 50; i++) {
    first = await bobOnB.request({ type: 'message', room: 'lobby', text: 'after' })
    if (first.type === 'error') break
    await sleep(20)
  }
  assert.equal(first?.code, 'rate_limited', 'node b slows bob')
  const onA = await bobOnA.request({ type: 'message', room: 'lobby', text: 'from a' })
  assert.equal(onA.code, 'rate_limited', 'bob\'s send on b counts on a')
  assert.equal((await http(b.url, 'GET', '/rooms/lobby')).body.slowModeMs, 60_000)
})

engineTest('the SDK sets slow mode; a send too soon rejects with rate_limited and retryAfterMs', async (start, t) => {
  const server = await start()
  await roomWithModerator(server)
  const mod = client(t, { url: server.wsUrl, user: 'mod' })
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  await joinedTo('lobby', bob)
  await mod.connect()
  assert.deepEqual((await mod.slowMode('lobby', 30_000)).type, 'ack')
  assert.equal((await bob.send('lobby', 'one')).seq, 1)
  await assert.rejects(bob.send('lobby', 'two'), (err: unknown) => err instanceof ChatError && err.code === 'rate_limited' &&
    err.room === 'lobby' && err.retryAfterMs !== undefined && err.retryAfterMs > 25_000)
})
