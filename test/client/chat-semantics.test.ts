import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { WebSocket } from 'ws'
import type { ChatClient, Message, ReadOutFrame } from '../../src/client/index.ts'
import { eventually, type Frame, freePort, http, spawnServer, startServer, tempDir } from '../helper.ts'
import { startTcpProxy } from '../tcp-proxy.ts'
import { client, joinedTo, record, recordingWebSocket, rejectsWith, seqs, storedMessages, within } from './client-helper.ts'

/** A message as the tests compare it: `3 v2 "text"`, or `3 deleted`. */
function describe (message: Message): string {
  return message.deleted === true ? `${message.seq} deleted` : `${message.seq} v${message.version ?? 1} "${message.text}"`
}

/** What a client hands its `joined`, `message` and `updated` listeners, in one ordered log. */
function timeline (chat: ChatClient): string[] {
  const log: string[] = []
  chat.on('joined', (frame) => log.push(`joined ${frame.room}`))
  chat.on('message', (message) => log.push(`message ${describe(message)}`))
  chat.on('updated', (message) => log.push(`updated ${describe(message)}`))
  return log
}

test('edit and delete resolve on their ack, reach every member as updated, and reject with the server\'s codes', async (t) => {
  const server = await startServer(t)
  const alice = client(t, { url: server.wsUrl, user: 'alice' })
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  const seen = { alice: record(alice), bob: record(bob) }
  const updates = { alice: [] as Message[], bob: [] as Message[] }
  alice.on('updated', (message) => updates.alice.push(message))
  bob.on('updated', (message) => updates.bob.push(message))
  await joinedTo('lobby', alice, bob)
  const helo = await alice.send('lobby', 'helo')
  const oops = await alice.send('lobby', 'oops, wrong room')
  const bobs = await bob.send('lobby', 'hi alice')

  const edited = await alice.edit('lobby', helo.seq, 'hello')
  assert.deepEqual([edited.type, edited.seq, edited.id], ['ack', helo.seq, helo.id], 'the ack names the message itself')
  const deleted = await alice.delete('lobby', oops.seq)
  assert.deepEqual([deleted.seq, deleted.id], [oops.seq, oops.id])
  const again = await alice.delete('lobby', oops.seq)
  assert.deepEqual([again.seq, again.id], [oops.seq, oops.id], 'a repeated delete is answered as the first')

  for (const name of ['alice', 'bob'] as const) {
    await eventually(() => updates[name].length >= 2, 5000, `${name}'s updated events`)
    assert.deepEqual(updates[name].map(describe), ['1 v2 "hello"', '2 deleted'])
    const [edit, tombstone] = updates[name] as [Message, Message]
    assert.equal('type' in edit, false, 'the message object, not the frame')
    assert.equal(typeof edit.editedAt, 'string')
    assert.equal(tombstone.text, '')
    assert.equal(typeof tombstone.deletedAt, 'string')
  }

  await rejectsWith(alice.edit('lobby', bobs.seq, 'not mine'), 'forbidden')
  await rejectsWith(alice.delete('lobby', bobs.seq), 'forbidden')
  await rejectsWith(alice.edit('lobby', 99, 'never sent'), 'not_found')
  await rejectsWith(alice.delete('lobby', 99), 'not_found')
  await rejectsWith(alice.edit('lobby', oops.seq, 'already deleted'), 'not_found')
  await rejectsWith(alice.edit('lobby', helo.seq, ''), 'bad_request')
  const unknown = await rejectsWith(alice.edit('nowhere', 1, 'no such room'), 'not_found')
  assert.equal(unknown.room, 'nowhere')

  // A round trip after the failures: nothing they did reached anyone.
  await bob.history('lobby')
  assert.equal(updates.bob.length, 2, 'no updated for a repeated delete or a refused change')
  assert.deepEqual(seqs(seen.alice.messages), [1, 2, 3], 'messages still come once each')
  assert.deepEqual(seqs(seen.bob.messages), [1, 2, 3])
  assert.deepEqual((await storedMessages(server.url, 'lobby')).map(describe), ['1 v2 "hello"', '2 deleted', '3 v1 "hi alice"'])
})

test('after a re-join, changes made while away reach updated listeners before the missed messages; an edit cut off is sent again', { timeout: 60_000 }, async (t) => {
  let stop = () => {}
  t.after(() => stop())
  const server = await startServer(t, { CHAT_HEARTBEAT_MS: 600_000 })
  const proxy = await startTcpProxy(t, Number(new URL(server.url).port))
  // The test decides when alice's link dies: her own pings would notice the stall sooner or later.
  const alice = client(t, { url: `ws://127.0.0.1:${proxy.port}${new URL(server.wsUrl).pathname}`, user: 'alice', pingIntervalMs: 600_000 })
  stop = () => { alice.close(); proxy.close() }
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  const log = timeline(alice)
  const seen = record(alice)
  await joinedTo('lobby', alice, bob)
  await alice.send('lobby', 'one')
  await alice.send('lobby', 'two')
  await bob.send('lobby', 'three')
  await eventually(() => seen.messages.length === 3, 5000, 'alice has seen 3')

  proxy.stall()
  const mark = log.length
  // Into the dead link: lost on the way, and sent again on the next connection.
  const edit = alice.edit('lobby', 1, 'one, edited')
  await bob.edit('lobby', 3, 'three, edited')
  await bob.send('lobby', 'four')
  await bob.send('lobby', 'five')
  await bob.delete('lobby', 5)
  proxy.cut()

  const ack = await within(edit, 20_000, 'the ack of the edit sent again')
  assert.equal(ack.seq, 1)
  await eventually(() => log.length - mark >= 5, 10_000, 'alice caught up')
  assert.deepEqual(log.slice(mark), [
    'joined lobby',
    'updated 3 v2 "three, edited"',
    'message 4 v1 "four"',
    'message 5 deleted',
    'updated 1 v2 "one, edited"'
  ])
  assert.deepEqual(seqs(seen.messages), [1, 2, 3, 4, 5], 'each message once, in order')
  assert.equal(proxy.accepted(), 2)
  assert.deepEqual((await storedMessages(server.url, 'lobby')).map(describe),
    ['1 v2 "one, edited"', '2 v1 "two"', '3 v2 "three, edited"', '4 v1 "four"', '5 deleted'], 'the edit was applied once')
})

test('edits, deletes and reads made while disconnected wait for the connection and go out after the re-join', { timeout: 120_000 }, async (t) => {
  const env = { CHAT_DB: join(tempDir(t), 'chat.sqlite'), PORT: String(await freePort()) }
  let server = await spawnServer(t, env)
  // Alice comes back only after bob: a read goes out to the members in the room when it is
  // written, so bob would miss one written before his re-join. Held, her attempts are refused.
  let aliceHeld = false
  const refused = `ws://127.0.0.1:${await freePort()}/ws`
  class HeldWebSocket extends WebSocket {
    constructor (url: string | URL, protocols?: string | string[]) {
      super(aliceHeld ? refused : url, protocols)
    }
  }
  const alice = client(t, { url: server.wsUrl, user: 'alice', WebSocket: HeldWebSocket })
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  const seen = record(alice)
  const updates: Message[] = []
  const reads: ReadOutFrame[] = []
  let bobJoins = 0
  bob.on('updated', (message) => updates.push(message))
  bob.on('read', (frame) => reads.push(frame))
  bob.on('joined', () => bobJoins++)
  await joinedTo('lobby', alice, bob)
  await alice.send('lobby', 'tpyo')
  await alice.send('lobby', 'never mind')
  await bob.send('lobby', 'what?')
  await eventually(() => seen.messages.length === 3, 5000, 'alice has seen 3')
  // The server writes read seqs a second at a time; `unread` writes what is pending, so the
  // kill loses none (alice's stays at 2, her own last message, and the read of 3 moves it).
  assert.deepEqual(await alice.unread(), [{ room: 'lobby', seq: 3, readSeq: 2, unread: 1, mentions: 0 }])

  aliceHeld = true
  const joinsBefore = bobJoins
  server.child.kill('SIGKILL')
  await server.exited
  await eventually(() => alice.state === 'reconnecting', 10_000, 'alice noticed')
  const edit = alice.edit('lobby', 1, 'typo')
  const remove = alice.delete('lobby', 2)
  const removeAgain = alice.delete('lobby', 2)
  const read = alice.read('lobby', 3)
  server = await spawnServer(t, env)
  await eventually(() => bobJoins > joinsBefore, 20_000, 'bob joined again')
  aliceHeld = false

  const [edited, removed, removedAgain] = await within(Promise.all([edit, remove, removeAgain, read]), 30_000, 'the waiting requests')
  assert.equal(edited.seq, 1)
  assert.equal(removed.seq, 2)
  assert.deepEqual([removedAgain.seq, removedAgain.id], [removed.seq, removed.id], 'the second delete is answered as the first')
  await eventually(() => updates.some((message) => describe(message) === '1 v2 "typo"') &&
    updates.some((message) => describe(message) === '2 deleted'), 20_000, 'bob has the changes')
  await eventually(() => reads.some((frame) => frame.user === 'alice' && frame.seq === 3), 20_000, 'bob sees alice read 3')
  assert.deepEqual((await storedMessages(server.url, 'lobby')).map(describe), ['1 v2 "typo"', '2 deleted', '3 v1 "what?"'])
  const unread = await http(server.url, 'GET', '/users/alice/unread')
  assert.deepEqual(unread.body.rooms, [{ room: 'lobby', seq: 3, readSeq: 3, unread: 0, mentions: 0 }])
})

test('typing: calls on every keystroke send a frame at most every 2.5 s; a stop or a message ends it; members get the typing sets', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t)
  const sent: Frame[] = []
  const alice = client(t, { url: server.wsUrl, user: 'alice', WebSocket: recordingWebSocket(sent) })
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  const sets: string[] = []
  bob.on('typing', (frame) => sets.push(`${frame.room}: ${frame.users.join(' ')}`))
  await joinedTo('lobby', alice, bob)
  const typingFrames = () => sent.filter((frame) => frame.type === 'typing')

  await rejectsWith(alice.typing('elsewhere'), 'not_member')
  for (let keystroke = 0; keystroke < 20; keystroke++) await alice.typing('lobby')
  assert.deepEqual(typingFrames(), [{ type: 'typing', room: 'lobby' }], 'one frame for a burst of keystrokes')
  await eventually(() => sets.includes('lobby: alice'), 5000, 'bob sees alice typing')

  await alice.typing('lobby', false)
  assert.deepEqual(typingFrames().at(-1), { type: 'typing', room: 'lobby', active: false })
  await eventually(() => sets.at(-1) === 'lobby: ', 5000, 'alice stopped')
  await alice.typing('lobby', false)
  assert.equal(typingFrames().length, 2, 'nothing to stop: nothing sent')

  // After a stop the next keystroke is announced at once; a message ends typing by itself.
  await alice.typing('lobby')
  assert.equal(typingFrames().length, 3)
  await eventually(() => sets.filter((set) => set === 'lobby: alice').length === 2, 5000, 'typing again')
  await alice.send('lobby', 'there you go')
  await eventually(() => sets.at(-1) === 'lobby: ', 5000, 'the message ended typing')
  await alice.typing('lobby', false)
  assert.equal(typingFrames().length, 3, 'the message ended it: nothing to stop')

  // Keystrokes every 200 ms for 6 s, longer than the server's 5 s expiry: the repeats keep
  // alice typing without a gap, and most keystrokes send nothing.
  const mark = sets.length
  const keystrokes = 30
  for (let keystroke = 0; keystroke < keystrokes; keystroke++) {
    await alice.typing('lobby')
    await sleep(200)
  }
  const repeats = typingFrames().length - 3
  assert.ok(repeats >= 3 && repeats < keystrokes, `${repeats} frames for ${keystrokes} keystrokes`)
  assert.deepEqual(sets.slice(mark), ['lobby: alice'], 'alice typed without a gap')
  await alice.typing('lobby', false)
  await eventually(() => sets.at(-1) === 'lobby: ', 5000, 'stopped')
})

test('read: coalesced and forward only, announced to the user\'s other clients; unread and reads agree with REST', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t)
  const sent: Frame[] = []
  const phone = client(t, { url: server.wsUrl, user: 'alice', WebSocket: recordingWebSocket(sent) })
  const laptop = client(t, { url: server.wsUrl, user: 'alice' })
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  const seen = record(phone)
  const announced: string[] = []
  laptop.on('read', (frame) => announced.push(`${frame.room} ${frame.user} ${frame.seq}`))
  await joinedTo('lobby', phone, laptop, bob)
  for (let i = 1; i <= 3; i++) await bob.send('lobby', `news ${i}`)
  await eventually(() => seen.messages.length === 3, 5000, 'the phone has the news')
  const readFrames = () => sent.filter((frame) => frame.type === 'read')

  await within(Promise.all([phone.read('lobby', 1), phone.read('lobby', 2), phone.read('lobby', 3)]), 5000, 'the reads sent')
  assert.deepEqual(readFrames(), [{ type: 'read', room: 'lobby', seq: 1 }, { type: 'read', room: 'lobby', seq: 3 }],
    'the first at once, the others in one frame with the latest seq')
  await eventually(() => announced.includes('lobby alice 3'), 5000, 'the laptop hears of the phone\'s read')
  await phone.read('lobby', 2)
  assert.equal(readFrames().length, 2, 'behind the read seq: nothing sent')

  const unread = await phone.unread()
  assert.deepEqual(unread, [{ room: 'lobby', seq: 3, readSeq: 3, unread: 0, mentions: 0 }])
  assert.deepEqual((await http(server.url, 'GET', '/users/alice/unread')).body.rooms, unread)
  await bob.send('lobby', 'news 4')
  assert.deepEqual(await laptop.unread(), [{ room: 'lobby', seq: 4, readSeq: 3, unread: 1, mentions: 0 }])
  const reads = await laptop.reads('lobby')
  assert.deepEqual(reads, [{ user: 'alice', seq: 3 }, { user: 'bob', seq: 4 }], 'a sender has read its own message')
  assert.deepEqual((await http(server.url, 'GET', '/rooms/lobby/reads')).body.reads, reads)

  await rejectsWith(phone.read('elsewhere', 1), 'not_member')
  await rejectsWith(phone.read('lobby', -1), 'bad_request')
  await eventually(() => seen.messages.length === 4, 5000, 'news 4')
  await rejectsWith(phone.read('lobby', 5), 'bad_request')
  await rejectsWith(phone.reads('elsewhere'), 'not_member')
  // A read made while the join is under way waits for it, and fails with it.
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'staff', private: true })).status, 201)
  const join = phone.join('staff')
  const early = phone.read('staff', 1)
  await rejectsWith(join, 'forbidden')
  await rejectsWith(early, 'forbidden')
  assert.equal(readFrames().length, 2, 'refused reads send nothing')
})
