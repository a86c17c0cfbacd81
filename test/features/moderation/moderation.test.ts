import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { engineTest, nodesTest } from '../../engines.ts'
import { ChatError } from '../../../src/client/index.ts'
import { client, joinedTo } from '../../client/client-helper.ts'
import { connectAs, http, type TestServer } from '../../helper.ts'
import { startReceiver, webhookConfig } from '../../webhooks/receiver.ts'

async function roomWithRoles (server: TestServer): Promise<void> {
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'lobby' })).status, 201)
  await http(server.url, 'PUT', '/rooms/lobby/roles/mod', { role: 'moderator' })
  await http(server.url, 'PUT', '/rooms/lobby/roles/olga', { role: 'owner' })
}

engineTest('a moderator kicks (the user may join again), bans (kicked, joins refused until lifted) and mutes (messages, reactions, typing refused)', async (start, t) => {
  const server = await start()
  await roomWithRoles(server)
  const mod = await connectAs(t, server, 'mod')
  const bob = await connectAs(t, server, 'bob')
  const carol = await connectAs(t, server, 'carol')
  await bob.join('lobby')
  await carol.join('lobby')
  const sent = await bob.request({ type: 'message', room: 'lobby', text: 'hi' })

  assert.deepEqual(await mod.request({ type: 'kick', room: 'lobby', user: 'bob', reason: 'calm down' }), { type: 'ack', room: 'lobby', ref: 'r1' })
  assert.deepEqual(await bob.next('kicked'), { type: 'kicked', room: 'lobby', reason: 'calm down' })
  assert.equal((await bob.request({ type: 'message', room: 'lobby', text: 'still here?' })).code, 'not_member')
  await bob.join('lobby')

  assert.equal((await mod.request({ type: 'ban', room: 'lobby', user: 'bob', reason: 'spam' })).type, 'ack')
  assert.match((await bob.next('kicked')).reason, /^banned until lifted: spam$/)
  const refused = await bob.request({ type: 'join', room: 'lobby' })
  assert.equal(refused.code, 'forbidden')
  assert.match(refused.message, /bob is banned from room lobby until lifted \(spam\)/)
  const bans = await http(server.url, 'GET', '/rooms/lobby/bans')
  assert.deepEqual(bans.body, { bans: [{ user: 'bob', until: null, reason: 'spam' }] })
  assert.equal((await mod.request({ type: 'unban', room: 'lobby', user: 'bob' })).type, 'ack')
  await bob.join('lobby')

  assert.equal((await mod.request({ type: 'mute', room: 'lobby', user: 'bob', durationMs: 60_000 })).type, 'ack')
  const muted = await bob.request({ type: 'message', room: 'lobby', text: 'can I talk?' })
  assert.equal(muted.code, 'forbidden')
  assert.match(muted.message, /bob is muted in room lobby until \d{4}-\d\d-\d\dT/)
  assert.equal((await bob.request({ type: 'react', room: 'lobby', seq: sent.seq, emoji: '👍' })).code, 'forbidden')
  assert.equal((await bob.request({ type: 'typing', room: 'lobby' })).code, 'forbidden')
  const mutes = await http(server.url, 'GET', '/rooms/lobby/mutes')
  assert.equal(mutes.body.mutes.length, 1)
  assert.ok(Date.parse(mutes.body.mutes[0].until) > Date.now())
  // Muted, bob still reads.
  await carol.request({ type: 'message', room: 'lobby', text: 'you are muted' })
  assert.equal((await bob.next((frame) => frame.type === 'message' && frame.text === 'you are muted')).user, 'carol')
  assert.equal((await mod.request({ type: 'unmute', room: 'lobby', user: 'bob' })).type, 'ack')
  assert.equal((await bob.request({ type: 'message', room: 'lobby', text: 'thanks' })).type, 'ack')
})

engineTest('who may act: nobody without a role, a moderator not on an owner, an owner on anyone; bad input changes nothing', async (start, t) => {
  const server = await start()
  await roomWithRoles(server)
  const mod = await connectAs(t, server, 'mod')
  const olga = await connectAs(t, server, 'olga')
  const bob = await connectAs(t, server, 'bob')
  const noRole = await bob.request({ type: 'ban', room: 'lobby', user: 'carol' })
  assert.equal(noRole.code, 'forbidden')
  assert.match(noRole.message, /only an owner or a moderator/)
  const onOwner = await mod.request({ type: 'ban', room: 'lobby', user: 'olga' })
  assert.equal(onOwner.code, 'forbidden')
  assert.match(onOwner.message, /may not act on an owner/)
  assert.equal((await mod.request({ type: 'mute', room: 'lobby', user: 'olga' })).code, 'forbidden')
  assert.equal((await mod.request({ type: 'kick', room: 'lobby', user: 'olga' })).code, 'forbidden')
  assert.equal((await olga.request({ type: 'mute', room: 'lobby', user: 'mod', durationMs: 1000 })).type, 'ack', 'an owner mutes a moderator')
  assert.equal((await mod.request({ type: 'ban', room: 'elsewhere', user: 'bob' })).code, 'forbidden', 'a moderator of another room')
  const negative = await olga.request({ type: 'ban', room: 'lobby', user: 'bob', durationMs: -5 })
  assert.equal(negative.code, 'bad_request')
  assert.match(negative.message, /durationMs/)
  assert.equal((await http(server.url, 'PUT', '/rooms/lobby/bans/bob', { durationMs: 0 })).status, 400)
  assert.equal((await http(server.url, 'PUT', '/rooms/nowhere/bans/bob', {})).status, 404)
  assert.equal((await http(server.url, 'GET', '/rooms/nowhere/mutes')).status, 404)
  assert.deepEqual((await http(server.url, 'GET', '/rooms/lobby/bans')).body, { bans: [] }, 'nothing was banned')
  assert.equal((await olga.request({ type: 'ban', room: 'nowhere', user: 'bob' })).code, 'forbidden', 'no role in a room that does not exist')
})

engineTest('a timed ban ends by itself; an operator bans and lifts over REST, and the ban kicks', async (start, t) => {
  const server = await start()
  await roomWithRoles(server)
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  assert.equal((await http(server.url, 'PUT', '/rooms/lobby/bans/bob', { durationMs: 300, reason: 'cool off' })).status, 204)
  assert.match((await bob.next('kicked')).reason, /^banned until .*: cool off$/)
  assert.equal((await bob.request({ type: 'join', room: 'lobby' })).code, 'forbidden')
  await sleep(400)
  assert.equal((await bob.request({ type: 'join', room: 'lobby' })).type, 'joined', 'the ban ended')
  assert.deepEqual((await http(server.url, 'GET', '/rooms/lobby/bans')).body.bans, [], 'ended bans are not listed')
  assert.equal((await http(server.url, 'PUT', '/rooms/lobby/mutes/bob', {})).status, 204)
  assert.equal((await bob.request({ type: 'message', room: 'lobby', text: 'x' })).code, 'forbidden')
  assert.equal((await http(server.url, 'DELETE', '/rooms/lobby/mutes/bob')).status, 204)
  assert.equal((await bob.request({ type: 'message', room: 'lobby', text: 'x' })).type, 'ack')
})

nodesTest('a ban or a mute given on one node holds on the other at once, and kicks there', async (start, t) => {
  const a = await start()
  const b = await start()
  await roomWithRoles(a)
  const mod = await connectAs(t, a, 'mod')
  const bob = await connectAs(t, b, 'bob')
  await bob.join('lobby')
  // Node b has read the room's sanctions (none) before the mute.
  assert.equal((await bob.request({ type: 'message', room: 'lobby', text: 'before' })).type, 'ack')
  assert.equal((await mod.request({ type: 'mute', room: 'lobby', user: 'bob' })).type, 'ack')
  let refused
  for (let i = 0; i < 50; i++) {
    refused = await bob.request({ type: 'message', room: 'lobby', text: 'after' })
    if (refused.type === 'error') break
    await sleep(20)
  }
  assert.equal(refused?.code, 'forbidden', 'node b refuses the muted user')
  assert.equal((await mod.request({ type: 'ban', room: 'lobby', user: 'bob' })).type, 'ack')
  assert.match((await bob.next('kicked')).reason, /^banned/)
  assert.equal((await bob.request({ type: 'join', room: 'lobby' })).code, 'forbidden')
})

engineTest('the SDK moderates: kick, ban, unban, mute, unmute resolve with their ack; a muted sender\'s send rejects with forbidden', async (start, t) => {
  const server = await start()
  await roomWithRoles(server)
  const mod = client(t, { url: server.wsUrl, user: 'mod' })
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  await joinedTo('lobby', bob)
  await mod.connect()
  const muted = await mod.mute('lobby', 'bob', { durationMs: 60_000, reason: 'too loud' })
  assert.deepEqual([muted.type, muted.room, muted.seq], ['ack', 'lobby', undefined])
  await assert.rejects(bob.send('lobby', 'hello?'), (err: unknown) => err instanceof ChatError && err.code === 'forbidden' && /too loud/.test(err.message))
  assert.equal((await mod.unmute('lobby', 'bob')).type, 'ack')
  assert.equal((await bob.send('lobby', 'hello')).seq, 1)
  assert.equal((await mod.kick('lobby', 'bob')).type, 'ack')
  assert.equal((await mod.ban('lobby', 'bob')).type, 'ack')
  assert.equal((await mod.unban('lobby', 'bob')).type, 'ack')
})

engineTest('a moderator\'s kick and ban send member.kicked to webhooks, with the reason', async (start, t) => {
  const receiver = await startReceiver(t)
  const server = await start(webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'member.kicked' }))
  await roomWithRoles(server)
  const mod = await connectAs(t, server, 'mod')
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  assert.equal((await mod.request({ type: 'kick', room: 'lobby', user: 'bob', reason: 'calm down' })).type, 'ack')
  await bob.next('kicked')
  assert.equal((await http(server.url, 'PUT', '/rooms/lobby/bans/carol', { reason: 'spam' })).status, 204)
  const events = await receiver.waitFor(2, 'member.kicked')
  assert.deepEqual(events.map((event) => [event.room, event.data.user, event.data.reason]), [
    ['lobby', 'bob', 'calm down'],
    ['lobby', 'carol', 'banned until lifted: spam']
  ])
  receiver.assertAllValid()
})
