import assert from 'node:assert/strict'
import { test } from 'node:test'
import { WebSocket } from 'ws'
import type { MessageAck, Message } from '../../src/client/index.ts'
import { eventually, freePort, http, startServer } from '../helper.ts'
import { startTcpProxy } from '../tcp-proxy.ts'
import { client, joinedTo, record, rejectsWith, seqs, storedMessages, within } from './client-helper.ts'

/** A message's reactions as the tests compare them: `👍 2 bob,alice`. */
function reactionsOf (message: Message | undefined): string[] {
  return (message?.reactions ?? []).map(({ emoji, count, users }) => `${emoji} ${count} ${users.join(',')}`)
}

/** The latest state of each message a client was handed as `updated`, by seq. */
function latestUpdates (chat: ReturnType<typeof client>): Map<number, Message> {
  const latest = new Map<number, Message>()
  chat.on('updated', (message) => latest.set(message.seq, message))
  return latest
}

test('react and unreact resolve on their ack and reach every member as updated reactions', async (t) => {
  const server = await startServer(t)
  const alice = client(t, { url: server.wsUrl, user: 'alice' })
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  const updates = { alice: latestUpdates(alice), bob: latestUpdates(bob) }
  await joinedTo('lobby', alice, bob)
  const news = await alice.send('lobby', 'the release is out')

  const ack = await bob.react('lobby', news.seq, '👍')
  assert.deepEqual([ack.type, ack.seq, ack.id], ['ack', news.seq, news.id], 'the ack names the message')
  await alice.react('lobby', news.seq, '👍')
  await alice.react('lobby', news.seq, 'tada')
  const repeat = await alice.react('lobby', news.seq, 'tada')
  assert.equal(repeat.seq, news.seq, 'a repeated reaction is acknowledged and changes nothing')
  const expected = ['👍 2 bob,alice', 'tada 1 alice']
  for (const name of ['alice', 'bob'] as const) {
    // Changes of one message within a second may come as one `updated`: the latest is what counts.
    await eventually(() => JSON.stringify(reactionsOf(updates[name].get(news.seq))) === JSON.stringify(expected), 5000, `${name} sees both reactions`)
    assert.equal(updates[name].get(news.seq)?.version ?? 1, 1, 'a reaction is not an edit')
  }

  await bob.react('lobby', news.seq, '👍', false)
  await bob.react('lobby', news.seq, 'tada', false)
  await alice.react('lobby', news.seq, 'tada', false)
  const unreacted = ['👍 1 alice']
  for (const name of ['alice', 'bob'] as const) {
    await eventually(() => JSON.stringify(reactionsOf(updates[name].get(news.seq))) === JSON.stringify(unreacted), 5000, `${name} sees the removals`)
  }
  const [stored] = await alice.history('lobby')
  assert.deepEqual(reactionsOf(stored), unreacted, 'history carries the reactions as they now are')
  const listed = await http(server.url, 'GET', `/rooms/lobby/messages/${news.seq}/reactions`)
  assert.deepEqual(listed.body.reactions.map((reaction: { emoji: string, user: string }) => `${reaction.emoji} ${reaction.user}`), ['👍 alice'])

  await alice.react('lobby', news.seq, '👍', false)
  await eventually(() => updates.bob.get(news.seq)?.reactions === undefined, 5000, 'the last reaction removed removes the field')
})

test('react, reply and thread reject with the server\'s codes', async (t) => {
  const server = await startServer(t)
  const alice = client(t, { url: server.wsUrl, user: 'alice' })
  await joinedTo('lobby', alice)
  const gone = await alice.send('lobby', 'about to go')
  await alice.delete('lobby', gone.seq)
  const kept = await alice.send('lobby', 'still here')

  const outside = await rejectsWith(alice.react('elsewhere', 1, '👍'), 'not_member')
  assert.equal(outside.room, 'elsewhere')
  await rejectsWith(alice.react('lobby', 99, '👍'), 'not_found')
  await rejectsWith(alice.react('lobby', gone.seq, '👍'), 'not_found')
  await rejectsWith(alice.react('lobby', kept.seq, 'thumbs up'), 'bad_request')
  await rejectsWith(alice.reply('lobby', 99, 'to nothing'), 'not_found')
  await rejectsWith(alice.reply('lobby', gone.seq, 'to a deleted message'), 'not_found')
  await rejectsWith(alice.send('lobby', 'to nothing', { replyTo: 42 }), 'not_found')
  await rejectsWith(alice.thread('lobby', 99), 'not_found')
  await rejectsWith(alice.reply('elsewhere', 1, 'not joined'), 'not_member')

  assert.deepEqual(seqs(await storedMessages(server.url, 'lobby')), [gone.seq, kept.seq], 'no refused reply was stored')
  assert.equal((await alice.history('lobby')).some((message) => message.reactions !== undefined), false, 'no refused reaction was stored')
})

test('replies: stored with their root\'s seq, the root\'s thread summary as updated, threads paged like history', async (t) => {
  const server = await startServer(t)
  const alice = client(t, { url: server.wsUrl, user: 'alice' })
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  const seen = record(bob)
  const updates = latestUpdates(bob)
  await joinedTo('lobby', alice, bob)
  const root = await alice.send('lobby', 'who reviews #42?')
  const other = await alice.send('lobby', 'unrelated')

  const first = await bob.reply('lobby', root.seq, 'me')
  const second = await alice.send('lobby', 'thanks', { replyTo: root.seq })
  // A reply to a reply goes to the root.
  const third = await bob.reply('lobby', first.seq, 'done, approved')
  const replies: MessageAck[] = [first, second, third]
  for (let i = 4; i <= 6; i++) replies.push(await alice.reply('lobby', root.seq, `note ${i}`))
  await bob.send('lobby', 'not in the thread')

  await eventually(() => seen.messages.length === 9, 5000, 'bob has every message')
  const replyTo = new Map(seen.messages.map((message) => [message.seq, message.replyTo]))
  assert.deepEqual(replies.map((ack) => replyTo.get(ack.seq)), replies.map(() => root.seq), 'each reply carries its root\'s seq')
  assert.equal(replyTo.get(root.seq), undefined)
  assert.equal(replyTo.get(other.seq), undefined)

  const last = replies.at(-1)!
  await eventually(() => updates.get(root.seq)?.thread?.replies === 6, 5000, 'bob has the root\'s thread summary')
  const summary = updates.get(root.seq)!.thread!
  assert.equal(summary.lastSeq, last.seq)
  assert.equal(typeof summary.lastTime, 'string')
  assert.equal(updates.get(root.seq)!.text, 'who reviews #42?', 'the root as it now is')

  const thread = await bob.thread('lobby', root.seq)
  assert.deepEqual(seqs(thread), replies.map((ack) => ack.seq), 'the replies, ascending, without the root or other messages')
  assert.deepEqual(thread.map((message) => message.text), ['me', 'thanks', 'done, approved', 'note 4', 'note 5', 'note 6'])
  const newest = await bob.thread('lobby', root.seq, { limit: 2 })
  assert.deepEqual(seqs(newest), seqs(thread).slice(-2))
  const older = await bob.thread('lobby', root.seq, { before: newest[0]!.seq, limit: 3 })
  assert.deepEqual(seqs(older), seqs(thread).slice(1, 4))
  assert.deepEqual(await bob.thread('lobby', other.seq), [], 'a message without replies has an empty thread')

  // A deleted reply leaves the thread, and the root's summary follows.
  await alice.delete('lobby', last.seq)
  await eventually(() => updates.get(root.seq)?.thread?.replies === 5, 5000, 'the summary after the delete')
  assert.equal(updates.get(root.seq)!.thread!.lastSeq, replies.at(-2)!.seq)
})

test('a reply whose ack was lost, and one made while disconnected, are each stored once after the reconnect; so is a reaction', { timeout: 60_000 }, async (t) => {
  let stop = () => {}
  t.after(() => stop())
  const server = await startServer(t, { CHAT_HEARTBEAT_MS: 600_000 })
  const proxy = await startTcpProxy(t, Number(new URL(server.url).port))
  // While held, alice's attempts go to a port nobody listens on: she stays disconnected.
  let held = false
  const refused = `ws://127.0.0.1:${await freePort()}/ws`
  class HeldWebSocket extends WebSocket {
    constructor (url: string | URL, protocols?: string | string[]) {
      super(held ? refused : url, protocols)
    }
  }
  const alice = client(t, {
    url: `ws://127.0.0.1:${proxy.port}${new URL(server.wsUrl).pathname}`, user: 'alice', WebSocket: HeldWebSocket, pingIntervalMs: 1000, pongTimeoutMs: 1000
  })
  stop = () => { alice.close(); proxy.close() }
  const seen = record(alice)
  await joinedTo('lobby', alice)
  const root = await alice.send('lobby', 'the root')

  // The server gets the reply and the reaction and applies them, but no answer comes back:
  // both go again on the next connection, and the server knows them.
  proxy.stall('toClient')
  const lostReply = alice.reply('lobby', root.seq, 'answer lost')
  const lostReaction = alice.react('lobby', root.seq, '👀')
  const [replyAck, reactionAck] = await within(Promise.all([lostReply, lostReaction]), 20_000, 'the acks after the resend')
  assert.equal(replyAck.duplicate, true, 'the resent reply was recognised as a repeat')
  assert.equal(replyAck.seq, root.seq + 1)
  assert.equal(reactionAck.seq, root.seq)
  assert.match(seen.disconnects[0]?.reason ?? '', /no answer to ping/)

  // Now off line altogether: the reply waits for the connection.
  held = true
  proxy.cut()
  await eventually(() => alice.state === 'reconnecting', 10_000, 'alice noticed the cut')
  const waiting = alice.reply('lobby', root.seq, 'written while disconnected')
  const waitingReaction = alice.react('lobby', root.seq, '👍')
  held = false
  const [waitingAck] = await within(Promise.all([waiting, waitingReaction]), 20_000, 'the acks once connected again')
  assert.equal(waitingAck.duplicate, undefined)
  assert.equal(waitingAck.seq, root.seq + 2)

  const stored = await storedMessages(server.url, 'lobby')
  assert.deepEqual(stored.map((message) => [message.seq, message.text, message.replyTo]), [
    [1, 'the root', undefined],
    [2, 'answer lost', 1],
    [3, 'written while disconnected', 1]
  ], 'each reply stored once, in the root\'s thread')
  assert.deepEqual(reactionsOf(stored[0]), ['👀 1 alice', '👍 1 alice'])
  assert.deepEqual(stored[0]!.thread?.replies, 2)
  await eventually(() => seen.messages.length === 3, 5000, 'alice has every message')
  assert.deepEqual(seqs(seen.messages), [1, 2, 3], 'each once, in order')
})

test('mentions: on messages as the server reads them, and counted per room in unread', async (t) => {
  const server = await startServer(t)
  const alice = client(t, { url: server.wsUrl, user: 'alice' })
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  const seen = record(alice)
  const updates = latestUpdates(alice)
  await joinedTo('lobby', alice, bob)
  await joinedTo('dev', alice, bob)

  const ping = await bob.send('lobby', '@alice can you look?')
  await bob.send('lobby', 'cc @carol and @alice, thanks @alice.')
  await bob.send('lobby', 'mail alice@example.com, no mention')
  await bob.send('dev', '@carol only')
  await eventually(() => seen.messages.length === 4, 5000, 'alice has the messages')
  assert.deepEqual(seen.messages.map((message) => message.mentions), [['alice'], ['carol', 'alice'], undefined, ['carol']])

  const counts = async () => (await alice.unread()).map(({ room, unread, mentions }) => `${room} ${unread} ${mentions}`)
  assert.deepEqual(await counts(), ['dev 1 0', 'lobby 3 2'])
  const rest = await http(server.url, 'GET', '/users/alice/unread')
  assert.deepEqual(rest.body.rooms.map((room: { mentions: number }) => room.mentions), [0, 2], 'REST agrees')

  // An edit recomputes the mentions; reading past them clears the count.
  await bob.edit('lobby', ping.seq, 'can you look?')
  await eventually(() => updates.has(ping.seq), 5000, 'alice has the edit')
  assert.equal(updates.get(ping.seq)!.mentions, undefined)
  assert.deepEqual(await counts(), ['dev 1 0', 'lobby 3 1'])
  await bob.send('dev', 'and @alice too')
  await alice.read('lobby', 3)
  assert.deepEqual(await counts(), ['dev 2 1', 'lobby 0 0'])
})
