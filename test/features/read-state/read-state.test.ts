import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectAs, type Frame, http, spawnServer, tempDir } from '../../helper.ts'
import { engineTest, nodesTest, aliceAndBobAcrossNodes, type StartNode } from '../../engines.ts'
import { sliceOf } from '../../../src/features/read-state/read-state.ts'

const readOf = (user: string, seq: number) => (frame: Frame) => frame.type === 'read' && frame.user === user && frame.seq === seq

engineTest('joined carries readSeq; a first join reads the room up to its latest seq', async (start, t) => {
  const server = await start()
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  for (const text of ['one', 'two', 'three']) await bob.request({ type: 'message', room: 'lobby', text })
  const alice = await connectAs(t, server, 'alice')
  const joined = await alice.join('lobby')
  assert.equal(joined.seq, 3)
  assert.equal(joined.readSeq, 3, 'a first join starts with nothing unread')
  await alice.request({ type: 'leave', room: 'lobby' })
  await bob.request({ type: 'message', room: 'lobby', text: 'four' })
  assert.equal((await alice.join('lobby')).readSeq, 3, 'a later join keeps the read seq')
})

engineTest('a read frame moves the read seq forward and every member hears of it, the reader\'s other devices too', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const alicePhone = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  await alice.join('lobby')
  await alicePhone.join('lobby')
  for (let i = 1; i <= 5; i++) await bob.request({ type: 'message', room: 'lobby', text: `m${i}` })
  await alice.request({ type: 'leave', room: 'lobby' })
  await alice.join('lobby')

  alice.send({ type: 'read', room: 'lobby', seq: 4 })
  for (const client of [alice, alicePhone, bob]) {
    assert.deepEqual(await client.next('read'), { type: 'read', room: 'lobby', user: 'alice', seq: 4 })
  }
  alice.send({ type: 'read', room: 'lobby', seq: 2 })
  await bob.nothing('read', 1500)
  const reads = await bob.request({ type: 'reads', room: 'lobby' })
  assert.deepEqual(reads.reads, [{ user: 'alice', seq: 4 }, { user: 'bob', seq: 5 }], 'a lower seq is ignored; sending moved bob\'s')
})

engineTest('read refusals: past the latest seq or not an integer is bad_request; a non-member is not_member', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  await alice.request({ type: 'message', room: 'lobby', text: 'one' })
  for (const seq of [2, -1, 1.5, '1']) {
    const reply = await alice.request({ type: 'read', room: 'lobby', seq })
    assert.equal(reply.code, 'bad_request', JSON.stringify(seq))
  }
  const bob = await connectAs(t, server, 'bob')
  assert.equal((await bob.request({ type: 'read', room: 'lobby', seq: 1 })).code, 'not_member')
  assert.equal((await bob.request({ type: 'reads', room: 'lobby' })).code, 'not_member')
  // 0 is a valid seq; below the read seq that sending set, it moves nothing and gets no answer.
  alice.send({ type: 'read', room: 'lobby', seq: 0, ref: 'zero' })
  await alice.nothing((frame) => frame.ref === 'zero' || frame.type === 'read', 1500)
}, { timeout: 30_000 })

engineTest('unread and reads agree over WebSocket and REST', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  for (const room of ['a', 'b', 'c']) {
    await alice.join(room)
    await bob.join(room)
  }
  for (let i = 0; i < 4; i++) await bob.request({ type: 'message', room: 'a', text: `a${i}` })
  for (let i = 0; i < 2; i++) await bob.request({ type: 'message', room: 'b', text: `b${i}` })
  alice.send({ type: 'read', room: 'a', seq: 1 })
  await bob.next(readOf('alice', 1))

  const unread = await alice.request({ type: 'unread' })
  assert.deepEqual(unread.rooms, [
    { room: 'a', seq: 4, readSeq: 1, unread: 3, mentions: 0 },
    { room: 'b', seq: 2, readSeq: 0, unread: 2, mentions: 0 },
    { room: 'c', seq: 0, readSeq: 0, unread: 0, mentions: 0 }
  ])
  const rest = await http(server.url, 'GET', '/users/alice/unread')
  assert.equal(rest.status, 200)
  assert.deepEqual(rest.body.rooms, unread.rooms)

  const reads = await alice.request({ type: 'reads', room: 'a' })
  assert.deepEqual(reads.reads, [{ user: 'alice', seq: 1 }, { user: 'bob', seq: 4 }])
  const restReads = await http(server.url, 'GET', '/rooms/a/reads')
  assert.deepEqual(restReads.body, { reads: reads.reads })
  assert.equal((await http(server.url, 'GET', '/rooms/nowhere/reads')).status, 404)
  assert.deepEqual((await http(server.url, 'GET', '/users/nobody/unread')).body, { rooms: [] })
  assert.equal((await http(server.url, 'GET', '/users/bad%20id/unread')).status, 400)

  // Sending moves the sender's read seq at once, as far as the sender can tell.
  await alice.request({ type: 'message', room: 'b', text: 'caught up' })
  const after = await http(server.url, 'GET', '/users/alice/unread')
  assert.deepEqual(after.body.rooms.find((r: Frame) => r.room === 'b'), { room: 'b', seq: 3, readSeq: 3, unread: 0, mentions: 0 })
})

/** Alice and bob in the lobby, alice having received the `count` messages bob sent there. */
async function aliceHasBobsMessages (start: StartNode, t: TestContext, count: number) {
  const server = await start({ CHAT_MSG_RATE: 200 })
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  for (let i = 1; i <= count; i++) bob.send({ type: 'message', room: 'lobby', text: `m${i}` })
  await alice.next((frame) => frame.type === 'message' && frame.seq === count)
  return { alice, bob }
}

engineTest('a burst of read frames is coalesced; the latest always goes out', async (start, t) => {
  const { alice, bob } = await aliceHasBobsMessages(start, t, 30)
  for (let seq = 1; seq <= 30; seq++) alice.send({ type: 'read', room: 'lobby', seq })
  const seen: number[] = []
  for (let frames = 0; frames < 30 && seen.at(-1) !== 30; frames++) {
    seen.push((await bob.next((frame) => frame.type === 'read' && frame.user === 'alice')).seq)
  }
  assert.equal(seen.at(-1), 30)
  assert.ok(seen.length < 30, `30 moves made ${seen.length} frames`)
  assert.deepEqual([...seen].sort((a, b) => a - b), seen, 'in order')
  await bob.nothing('read', 1500)
})

nodesTest('read seqs are shared: a read on one node reaches the other, and REST there agrees', async (start, t) => {
  const { b, alice, bob } = await aliceAndBobAcrossNodes(start, t)
  for (let i = 0; i < 3; i++) await bob.request({ type: 'message', room: 'lobby', text: `m${i}` })
  await alice.next((frame) => frame.type === 'message' && frame.seq === 3)
  alice.send({ type: 'read', room: 'lobby', seq: 2 })
  assert.equal((await bob.next('read')).seq, 2)
  const reads = await http(b.url, 'GET', '/rooms/lobby/reads')
  assert.deepEqual(reads.body.reads, [{ user: 'alice', seq: 2 }, { user: 'bob', seq: 3 }])
  const unread = await http(b.url, 'GET', '/users/alice/unread')
  assert.deepEqual(unread.body.rooms, [{ room: 'lobby', seq: 3, readSeq: 2, unread: 1, mentions: 0 }])
})

engineTest('sending moves the sender\'s read seq silently; a read frame up to that message is still announced', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  const { seq } = await alice.request({ type: 'message', room: 'lobby', text: 'hello' })
  // A client marks everything shown as read, its user's own message included: the room hears
  // it once, and hears nothing of the move made by sending.
  alice.send({ type: 'read', room: 'lobby', seq })
  assert.deepEqual(await bob.next('read'), { type: 'read', room: 'lobby', user: 'alice', seq })
  await bob.nothing('read', 1500)
  const other = await alice.request({ type: 'message', room: 'lobby', text: 'not marked read' })
  await bob.nothing('read', 1500)
  alice.send({ type: 'read', room: 'lobby', seq: other.seq })
  await bob.nothing('read', 1500)
})

nodesTest('a sender\'s read seq is stored with its message: every node sees it once the message is acknowledged', async (start, t) => {
  const { b, alice, bob } = await aliceAndBobAcrossNodes(start, t)
  const { seq } = await alice.request({ type: 'message', room: 'lobby', text: 'hello' })
  // Node b has nothing pending for alice: what it lists is what the store holds.
  const reads = await http(b.url, 'GET', '/rooms/lobby/reads')
  assert.deepEqual(reads.body.reads, [{ user: 'alice', seq }, { user: 'bob', seq: 0 }])
  assert.deepEqual((await bob.request({ type: 'unread' })).rooms, [{ room: 'lobby', seq, readSeq: 0, unread: 1, mentions: 0 }])
})

test('a sender\'s read seq survives SIGKILL once its message is acknowledged', { timeout: 60_000 }, async (t) => {
  const db = join(tempDir(t), 'chat.sqlite')
  const first = await spawnServer(t, { CHAT_DB: db })
  const alice = await connectAs(t, first, 'alice')
  await alice.join('lobby')
  const bob = await connectAs(t, first, 'bob')
  await bob.join('lobby')
  await bob.request({ type: 'message', room: 'lobby', text: 'from bob' })
  const { seq } = await alice.request({ type: 'message', room: 'lobby', text: 'from alice' })
  first.child.kill('SIGKILL')
  await first.exited

  const second = await spawnServer(t, { CHAT_DB: db })
  const { body } = await http(second.url, 'GET', '/users/alice/unread')
  assert.deepEqual(body.rooms, [{ room: 'lobby', seq, readSeq: seq, unread: 0, mentions: 0 }])
})

test('read seqs survive SIGKILL once announced', { timeout: 60_000 }, async (t) => {
  const db = join(tempDir(t), 'chat.sqlite')
  const first = await spawnServer(t, { CHAT_DB: db })
  const alice = await connectAs(t, first, 'alice')
  const bob = await connectAs(t, first, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  for (let i = 0; i < 3; i++) await alice.request({ type: 'message', room: 'lobby', text: `m${i}` })
  bob.send({ type: 'read', room: 'lobby', seq: 2 })
  await bob.next(readOf('bob', 2))
  first.child.kill('SIGKILL')
  await first.exited

  const second = await spawnServer(t, { CHAT_DB: db })
  const again = await connectAs(t, second, 'bob')
  assert.equal((await again.join('lobby')).readSeq, 2)
  const { body } = await http(second.url, 'GET', '/rooms/lobby/reads')
  assert.deepEqual(body.reads, [{ user: 'alice', seq: 3 }, { user: 'bob', seq: 2 }])
})

test('a first join\'s read seq is stored before joined announces it', { timeout: 60_000 }, async (t) => {
  const db = join(tempDir(t), 'chat.sqlite')
  const first = await spawnServer(t, { CHAT_DB: db })
  const bob = await connectAs(t, first, 'bob')
  await bob.join('lobby')
  for (let i = 0; i < 3; i++) await bob.request({ type: 'message', room: 'lobby', text: `m${i}` })
  const alice = await connectAs(t, first, 'alice')
  assert.equal((await alice.join('lobby')).readSeq, 3)
  first.child.kill('SIGKILL')
  await first.exited

  const second = await spawnServer(t, { CHAT_DB: db })
  const bobAgain = await connectAs(t, second, 'bob')
  await bobAgain.join('lobby')
  for (let i = 3; i < 5; i++) await bobAgain.request({ type: 'message', room: 'lobby', text: `m${i}` })
  const aliceAgain = await connectAs(t, second, 'alice')
  const joined = await aliceAgain.join('lobby')
  assert.equal(joined.seq, 5)
  assert.equal(joined.readSeq, 3, 'not a first join again: the two new messages are unread')
})

test('sliceOf spreads rooms over every slice of the window, the same room always in the same slice', () => {
  const counts = new Array<number>(50).fill(0)
  for (let room = 0; room < 1000; room++) counts[sliceOf(`room-${room}`)]!++
  assert.ok(counts.every((count) => count > 0), `every slice holds some of 1000 rooms: ${counts.join(' ')}`)
  assert.ok(Math.max(...counts) <= 3 * 20, `no slice holds more than three times its share: ${counts.join(' ')}`)
  assert.equal(sliceOf('lobby'), sliceOf('lobby'))
})

/** How often a sequence steps down: a rotation of a sorted sequence steps down once at most. */
const descents = (values: number[]) => values.slice(1).filter((value, index) => value < values[index]!).length

engineTest('moves made together are written in their rooms\' slices of the window, not in one burst', async (start, t) => {
  const server = await start()
  const rooms = Array.from({ length: 16 }, (_, index) => `room${String(index).padStart(2, '0')}`)
  assert.ok(descents(rooms.map((room) => sliceOf(room))) >= 4, 'the rooms\' slices are far from the order they are read in, so the test tells the two apart')
  const bob = await connectAs(t, server, 'bob')
  const alice = await connectAs(t, server, 'alice')
  const seqs: number[] = []
  for (const room of rooms) {
    await bob.join(room)
    await alice.join(room)
    seqs.push((await bob.request({ type: 'message', room, text: 'read me' })).seq)
  }
  rooms.forEach((room, index) => alice.send({ type: 'read', room, seq: seqs[index] }))
  const announced: string[] = []
  for (let frames = 0; frames < rooms.length; frames++) announced.push((await bob.next('read', 5000)).room)
  assert.deepEqual([...announced].sort(), rooms, 'every move is announced once')
  // Written slice after slice, the announcements come in the order of the rooms' slices from
  // the one under way (a room whose slice had just begun goes last, a window later).
  const order = announced.map((room) => sliceOf(room))
  assert.ok(descents(order) <= 2, `announced in slice order: ${order.join(' ')}`)
}, { timeout: 30_000 })

engineTest('a user who reads all the time is announced once a window, the latest seq each time', async (start, t) => {
  const { alice, bob } = await aliceHasBobsMessages(start, t, 50)
  const times: number[] = []
  const seqs: number[] = []
  const watching = (async () => {
    while (seqs.at(-1) !== 50) {
      seqs.push((await bob.next((frame) => frame.type === 'read' && frame.user === 'alice', 5000)).seq)
      times.push(performance.now())
    }
  })()
  for (let seq = 1; seq <= 50; seq++) {
    alice.send({ type: 'read', room: 'lobby', seq })
    await sleep(50)
  }
  await watching
  assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, 'in order')
  assert.ok(seqs.length >= 2 && seqs.length <= 4, `2.5 s of reads made ${seqs.length} announcements`)
  const gaps = times.slice(1).map((time, index) => time - times[index]!)
  assert.ok(gaps.every((gap) => gap > 800), `announcements a window apart: ${gaps.map(Math.round).join(', ')} ms`)
}, { timeout: 30_000 })
