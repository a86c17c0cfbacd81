import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectAs, type Frame, http, type TestClient } from '../../helper.ts'
import { aliceAndBobAcrossNodes, engineTest, nodesTest } from '../../engines.ts'
import { startReceiver, webhookConfig } from '../../webhooks/receiver.ts'

const updatedOf = (seq: number) => (frame: Frame) => frame.type === 'updated' && frame.message.seq === seq

/** Joins `users` to the lobby of `server`, the first one posting `text`: resolves the clients and the message's seq. */
async function lobbyWithMessage (t: Parameters<typeof connectAs>[0], server: Parameters<typeof connectAs>[1], users: string[], text = 'react to me') {
  const clients: TestClient[] = []
  for (const user of users) {
    const client = await connectAs(t, server, user)
    await client.join('lobby')
    clients.push(client)
  }
  const sent = await clients[0]!.request({ type: 'message', room: 'lobby', text })
  for (const client of clients) await client.next('message')
  return { clients, seq: sent.seq as number, id: sent.id as string }
}

engineTest('a reaction is acknowledged and every member gets the message with its reactions; repeats change nothing', async (start, t) => {
  const server = await start()
  const { clients: [alice, bob], seq, id } = await lobbyWithMessage(t, server, ['alice', 'bob'])
  const ack = await bob!.request({ type: 'react', room: 'lobby', seq, emoji: '👍' })
  assert.deepEqual(ack, { type: 'ack', ref: ack.ref, room: 'lobby', seq, id })
  for (const client of [alice!, bob!]) {
    const { message } = await client.next(updatedOf(seq))
    assert.deepEqual(message.reactions, [{ emoji: '👍', count: 1, users: ['bob'] }])
    assert.equal(message.text, 'react to me')
    assert.equal(message.version, undefined, 'a reaction does not change the version')
  }
  const again = await bob!.request({ type: 'react', room: 'lobby', seq, emoji: '👍' })
  assert.equal(again.type, 'ack', 'a repeat is answered as the first was')
  const gone = await bob!.request({ type: 'react', room: 'lobby', seq, emoji: 'party', active: false })
  assert.equal(gone.type, 'ack', 'removing a reaction that is not there is answered too')
  await alice!.nothing('updated', 1300)
  await bob!.request({ type: 'react', room: 'lobby', seq, emoji: '👍', active: false })
  const removed = await alice!.next(updatedOf(seq), 3000)
  assert.ok(!('reactions' in removed.message), 'the last reaction gone: no field')
})

engineTest('reactions are listed by emoji in the order of their earliest reaction, with the first 25 users and a count', async (start, t) => {
  const server = await start({ CHAT_MSG_RATE: 1000 })
  const { clients: [alice], seq } = await lobbyWithMessage(t, server, ['alice'])
  const users = Array.from({ length: 27 }, (_, i) => `u${String(i).padStart(2, '0')}`)
  for (const user of users) {
    const client = await connectAs(t, server, user)
    await client.join('lobby')
    await client.request({ type: 'react', room: 'lobby', seq, emoji: 'thumbs_up' })
    if (user === 'u01') await client.request({ type: 'react', room: 'lobby', seq, emoji: '🎉' })
    client.close()
  }
  await alice!.request({ type: 'react', room: 'lobby', seq, emoji: '🎉' })
  await sleep(1200)
  const [message] = (await http(server.url, 'GET', '/rooms/lobby/messages')).body.messages
  assert.deepEqual(message.reactions.map((entry: Frame) => [entry.emoji, entry.count]), [['thumbs_up', 27], ['🎉', 2]])
  assert.deepEqual(message.reactions[0].users, users.slice(0, 25), 'the first 25, in the order they reacted')
  assert.deepEqual(message.reactions[1].users, ['u01', 'alice'])
  const list = (await http(server.url, 'GET', `/rooms/lobby/messages/${seq}/reactions`)).body.reactions
  assert.equal(list.length, 29)
  assert.deepEqual(list.slice(0, 3).map((r: Frame) => [r.emoji, r.user]), [['thumbs_up', 'u00'], ['thumbs_up', 'u01'], ['🎉', 'u01']])
  assert.ok(list.every((r: Frame) => !Number.isNaN(Date.parse(r.time))))
  assert.deepEqual(list.map((r: Frame) => r.time), list.map((r: Frame) => r.time).sort(), 'oldest first')
  // u00 takes its reaction back: the emoji still starts with the earliest reaction left.
  const u00 = await connectAs(t, server, 'u00')
  await u00.join('lobby')
  await u00.request({ type: 'react', room: 'lobby', seq, emoji: 'thumbs_up', active: false })
  const after = (await alice!.next((frame) => updatedOf(seq)(frame) && frame.message.reactions[0].count === 26, 5000)).message
  assert.deepEqual(after.reactions[0].users, users.slice(1, 26))
})

engineTest('react: members only; not retained or deleted is not_found; a bad emoji is bad_request', async (start, t) => {
  const server = await start()
  await http(server.url, 'POST', '/rooms', { id: 'short', historyLimit: 1 })
  const { clients: [alice, bob], seq } = await lobbyWithMessage(t, server, ['alice', 'bob'])
  const carol = await connectAs(t, server, 'carol')
  assert.equal((await carol.request({ type: 'react', room: 'lobby', seq, emoji: '👍' })).code, 'not_member')
  assert.equal((await bob!.request({ type: 'react', room: 'lobby', seq: 99, emoji: '👍' })).code, 'not_found')
  for (const emoji of ['', 'two words', 'tab\there', 'x'.repeat(33), '👍'.repeat(33)]) {
    const refused = await bob!.request({ type: 'react', room: 'lobby', seq, emoji })
    assert.equal(refused.code, 'bad_request', JSON.stringify(emoji))
  }
  assert.equal((await bob!.request({ type: 'react', room: 'lobby', seq, emoji: '👍'.repeat(32) })).type, 'ack', '32 characters, 64 code units')
  for (const bad of [-1, 1.5, '1']) assert.equal((await bob!.request({ type: 'react', room: 'lobby', seq: bad, emoji: 'x' })).code, 'bad_request')
  assert.equal((await bob!.request({ type: 'react', room: 'lobby', seq: 0, emoji: 'x' })).code, 'not_found', 'a well-formed seq naming no message')
  await alice!.request({ type: 'delete', room: 'lobby', seq })
  assert.equal((await bob!.request({ type: 'react', room: 'lobby', seq, emoji: '🙂' })).code, 'not_found', 'a deleted message')
  await bob!.join('short')
  await bob!.request({ type: 'message', room: 'short', text: 'one' })
  await bob!.request({ type: 'message', room: 'short', text: 'two' })
  assert.equal((await bob!.request({ type: 'react', room: 'short', seq: 1, emoji: 'x' })).code, 'not_found', 'trimmed')
  assert.equal((await http(server.url, 'GET', '/rooms/short/messages/1/reactions')).status, 404)
  assert.equal((await http(server.url, 'GET', '/rooms/nowhere/messages/1/reactions')).status, 404)
  assert.deepEqual((await http(server.url, 'GET', '/rooms/short/messages/2/reactions')).body, { reactions: [] })
  assert.equal((await bob!.request({ type: 'ping' })).type, 'pong', 'the connection stays usable')
})

engineTest('a re-join with since replays reaction changes of older messages as updated', async (start, t) => {
  const server = await start()
  const { clients: [alice, bob], seq } = await lobbyWithMessage(t, server, ['alice', 'bob'])
  await bob!.request({ type: 'leave', room: 'lobby' })
  await alice!.request({ type: 'react', room: 'lobby', seq, emoji: '❤️' })
  const joined = await bob!.request({ type: 'join', room: 'lobby', since: seq })
  assert.equal(joined.recovered, true)
  const replayed = await bob!.next(updatedOf(seq))
  assert.deepEqual(replayed.message.reactions, [{ emoji: '❤️', count: 1, users: ['alice'] }])
})

engineTest('a burst of reactions on one message reaches members as at most a few updated frames, the last with every reaction', async (start, t) => {
  const server = await start({ CHAT_MSG_RATE: 1000 })
  const { clients, seq } = await lobbyWithMessage(t, server, ['alice', 'bob', 'carol'])
  const reactors: TestClient[] = []
  for (let i = 0; i < 10; i++) {
    const client = await connectAs(t, server, `fan${i}`)
    await client.join('lobby')
    reactors.push(client)
  }
  const watcher = clients[2]!
  watcher.frames.length = 0
  const emojis = ['👍', '🎉', '❤️', '😂', '🔥']
  const started = Date.now()
  await Promise.all(reactors.flatMap((client) => emojis.map((emoji) => client.request({ type: 'react', room: 'lobby', seq, emoji }))))
  const burstMs = Date.now() - started
  const final = (frame: Frame) => updatedOf(seq)(frame) && frame.message.reactions?.length === 5 && frame.message.reactions.every((entry: Frame) => entry.count === 10)
  await watcher.next(final, 5000)
  await sleep(1200)
  const updates = 1 + watcher.frames.filter(updatedOf(seq)).length
  t.diagnostic(`50 reactions in ${burstMs} ms reached a member as ${updates} updated frames`)
  assert.ok(updates <= 2 + Math.ceil(burstMs / 1000) * 2, `${updates} updated frames for 50 reactions in ${burstMs} ms`)
})

engineTest('reaction.added and reaction.removed go out to webhooks with the seq, emoji and user', async (start, t) => {
  const receiver = await startReceiver(t)
  const server = await start(webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'reaction.added,reaction.removed' }))
  const { clients: [, bob], seq } = await lobbyWithMessage(t, server, ['alice', 'bob'])
  await bob!.request({ type: 'react', room: 'lobby', seq, emoji: '👍' })
  await bob!.request({ type: 'react', room: 'lobby', seq, emoji: '👍' })
  await bob!.request({ type: 'react', room: 'lobby', seq, emoji: '👍', active: false })
  await receiver.waitFor(1, 'reaction.removed')
  assert.deepEqual(receiver.delivered.map((event) => [event.type, event.room, event.data]), [
    ['reaction.added', 'lobby', { seq, emoji: '👍', user: 'bob' }],
    ['reaction.removed', 'lobby', { seq, emoji: '👍', user: 'bob' }]
  ], 'a repeat is no event')
  receiver.assertAllValid()
})

nodesTest('a reaction on one node reaches the members on the other', async (start, t) => {
  const { alice, bob } = await aliceAndBobAcrossNodes(start, t)
  const sent = await alice.request({ type: 'message', room: 'lobby', text: 'across' })
  await bob.next('message')
  await bob.request({ type: 'react', room: 'lobby', seq: sent.seq, emoji: '🌍' })
  const { message } = await alice.next(updatedOf(sent.seq), 5000)
  assert.deepEqual(message.reactions, [{ emoji: '🌍', count: 1, users: ['bob'] }])
})
