import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mentionsOf } from '../../../src/features/mentions/mentions.ts'
import { connectAs, type Frame, http } from '../../helper.ts'
import { aliceAndBobAcrossNodes, engineTest, nodesTest } from '../../engines.ts'

test('mentions are @ids at the start of the text or after whitespace, once each, in order of first appearance', () => {
  assert.deepEqual(mentionsOf('@bob hi @carol, and @bob again'), ['bob', 'carol'])
  assert.deepEqual(mentionsOf('hi\n@dave\t@erin.x-y_z'), ['dave', 'erin.x-y_z'])
  assert.equal(mentionsOf('mail me at alice@example.com'), undefined, 'not after whitespace')
  assert.equal(mentionsOf('no one here'), undefined)
  assert.equal(mentionsOf('@ alone, @@double'), undefined)
  assert.equal(mentionsOf(`@${'x'.repeat(65)}`), undefined, 'longer than an id may be')
  assert.deepEqual(mentionsOf(`@${'x'.repeat(64)}`), ['x'.repeat(64)])
  assert.equal(mentionsOf('ça va @zoë?'), undefined, 'ë is not an id character, and an id does not stop inside a word')
  assert.deepEqual(mentionsOf("@bob's turn, thanks @carol. And @d.e.."), ['bob', 'carol', 'd.e'], 'dots ending the run end the sentence')
  assert.deepEqual(mentionsOf('@Bob @bob'), ['Bob', 'bob'], 'ids are compared as they are written')
})

engineTest('a message carries the users its text mentions, everywhere it appears; none means no field', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  await alice.request({ type: 'message', room: 'lobby', text: '@bob hi @carol, @bob' })
  const live = await bob.next('message')
  assert.deepEqual(live.mentions, ['bob', 'carol'])
  await alice.request({ type: 'message', room: 'lobby', text: 'plain words, mail@bob.example' })
  assert.ok(!('mentions' in await bob.next('message')), 'no mention: no field')
  const posted = await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'ping @alice', user: 'ops' })
  assert.deepEqual(posted.body.mentions, ['alice'])
  const overWs = await bob.request({ type: 'history', room: 'lobby' })
  const overRest = await http(server.url, 'GET', '/rooms/lobby/messages')
  for (const messages of [overWs.messages, overRest.body.messages]) {
    assert.deepEqual(messages.map((m: Frame) => m.mentions), [['bob', 'carol'], undefined, ['alice']])
  }
})

engineTest('an edit recomputes the mentions; a delete drops them', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  const sent = await alice.request({ type: 'message', room: 'lobby', text: 'hi @bob' })
  await bob.next('message')
  await alice.request({ type: 'edit', room: 'lobby', seq: sent.seq, text: 'hi @carol and @dave' })
  assert.deepEqual((await bob.next('updated')).message.mentions, ['carol', 'dave'])
  await alice.request({ type: 'edit', room: 'lobby', seq: sent.seq, text: 'hi all' })
  assert.ok(!('mentions' in (await bob.next('updated')).message), 'no mention left: no field')
  const other = await alice.request({ type: 'message', room: 'lobby', text: 'hey @bob' })
  await bob.next('message')
  await alice.request({ type: 'delete', room: 'lobby', seq: other.seq })
  const deleted = (await bob.next('updated')).message
  assert.equal(deleted.deleted, true)
  assert.ok(!('mentions' in deleted))
})

engineTest('unread entries count the messages after the read seq that mention the user, over WebSocket and REST', async (start, t) => {
  const server = await start()
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  await bob.request({ type: 'leave', room: 'lobby' })
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  const texts = ['@bob one', 'two', 'three @bob', '@carol four', 'five @bob', '@bob six']
  const seqs: number[] = []
  for (const text of texts) seqs.push((await alice.request({ type: 'message', room: 'lobby', text })).seq)
  const entry = async () => {
    const ws = (await bob.request({ type: 'unread' })).rooms.find((room: Frame) => room.room === 'lobby')
    const rest = (await http(server.url, 'GET', '/users/bob/unread')).body.rooms.find((room: Frame) => room.room === 'lobby')
    assert.deepEqual(ws, rest, 'the same over WebSocket and REST')
    return ws
  }
  assert.deepEqual(await entry(), { room: 'lobby', seq: 6, readSeq: 0, unread: 6, mentions: 4 })
  await alice.request({ type: 'delete', room: 'lobby', seq: seqs[2]! })
  await alice.request({ type: 'edit', room: 'lobby', seq: seqs[1]!, text: 'two, @bob' })
  assert.equal((await entry()).mentions, 4, 'a deleted mention no longer counts, an edit that adds one does')
  await bob.join('lobby')
  bob.send({ type: 'read', room: 'lobby', seq: 4 })
  await bob.next('read')
  assert.deepEqual(await entry(), { room: 'lobby', seq: 6, readSeq: 4, unread: 2, mentions: 2 })
  bob.send({ type: 'read', room: 'lobby', seq: 6 })
  await bob.next('read')
  assert.equal((await entry()).mentions, 0)
  assert.equal((await alice.request({ type: 'unread' })).rooms[0].mentions, 0, 'alice mentioned nobody to herself')
})

engineTest('mentions of messages no longer retained are not counted', async (start, t) => {
  const server = await start()
  await http(server.url, 'POST', '/rooms', { id: 'short', historyLimit: 3 })
  const bob = await connectAs(t, server, 'bob')
  await bob.join('short')
  await bob.request({ type: 'leave', room: 'short' })
  for (let i = 1; i <= 5; i++) await http(server.url, 'POST', '/rooms/short/messages', { text: `@bob number ${i}`, user: 'alice' })
  const [entry] = (await http(server.url, 'GET', '/users/bob/unread')).body.rooms
  assert.deepEqual(entry, { room: 'short', seq: 5, readSeq: 0, unread: 5, mentions: 3 }, 'messages 1 and 2 are trimmed')
})

nodesTest('a mention made on one node counts on the other', async (start, t) => {
  const { alice, bob } = await aliceAndBobAcrossNodes(start, t)
  await bob.request({ type: 'leave', room: 'lobby' })
  await alice.request({ type: 'message', room: 'lobby', text: 'are you there @bob?' })
  const [entry] = (await bob.request({ type: 'unread' })).rooms
  assert.equal(entry.mentions, 1)
  await bob.join('lobby')
  const history = await bob.request({ type: 'history', room: 'lobby' })
  assert.deepEqual(history.messages.map((m: Frame) => m.mentions), [['bob']])
})
