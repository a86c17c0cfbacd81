import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { WebSocket } from 'ws'
import { connect, connectAs, http, startServer, TestClient, type Frame } from '../helper.ts'

const ID = /^[A-Za-z0-9_.-]{1,64}$/
// Tests below send bursts from one connection; the per-connection rate limit has its own tests.
const FAST = { CHAT_MSG_RATE: 10_000 }

const isIsoTime = (value: unknown) =>
  typeof value === 'string' && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value

/** Every frame the client receives from now on, in arrival order. */
function record (client: TestClient): Frame[] {
  const frames: Frame[] = []
  client.ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Frame))
  return frames
}

/** The next `count` frames that match, in order. */
async function take (client: TestClient, count: number, match: (frame: Frame) => boolean): Promise<Frame[]> {
  const frames: Frame[] = []
  for (let i = 0; i < count; i++) frames.push(await client.next(match))
  return frames
}

const inRoom = (room: string) => (frame: Frame) => frame.type === 'message' && frame.room === room
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

test('welcome is the first frame: connection id, user and heartbeatMs', async (t) => {
  const server = await startServer(t, { CHAT_HEARTBEAT_MS: 12_345 })
  const first = new TestClient(`${server.wsUrl}?user=alice`)
  t.after(() => first.ws.terminate())
  const welcome = await first.next()
  assert.equal(welcome.type, 'welcome')
  assert.equal(typeof welcome.connectionId, 'string')
  assert.ok(welcome.connectionId.length > 0)
  assert.equal(welcome.user, 'alice')
  assert.equal(welcome.heartbeatMs, 12_345)

  const { client: second, welcome: again } = await connect(`${server.wsUrl}?user=alice`)
  t.after(() => second.ws.terminate())
  assert.equal(again.user, 'alice')
  assert.notEqual(again.connectionId, welcome.connectionId)
})

test('without ?user= a client is given a guest id', async (t) => {
  const server = await startServer(t)
  const { client: a, welcome: wa } = await connect(server.wsUrl)
  const { client: b, welcome: wb } = await connect(server.wsUrl)
  t.after(() => { a.ws.terminate(); b.ws.terminate() })
  for (const welcome of [wa, wb]) {
    assert.equal(typeof welcome.user, 'string')
    assert.match(welcome.user, ID)
  }
  assert.notEqual(wa.user, wb.user)
  // The guest id is a real user id: others see it in members.
  await a.join('lobby')
  const joined = await b.join('lobby')
  assert.deepEqual([...joined.members].sort(), [wa.user, wb.user].sort())
})

test('a ?user= that breaks the id pattern is refused with 400 before the upgrade', async (t) => {
  const server = await startServer(t)
  for (const user of ['a b', 'x'.repeat(65), 'a/b', 'émile', 'bob!']) {
    const ws = new WebSocket(`${server.wsUrl}?user=${encodeURIComponent(user)}`)
    const [err] = await once(ws, 'error') as [Error]
    assert.equal(err.message, 'Unexpected server response: 400', `user ${JSON.stringify(user)}`)
  }
  assert.equal(server.app.connectionRegistry.size, 0)
  // 64 characters is still an id.
  const longest = await connectAs(t, server, 'x'.repeat(64))
  assert.equal((await longest.request({ type: 'ping' })).type, 'pong')
  assert.equal(server.app.connectionRegistry.size, 1)
})

test('join answers joined with the latest seq, every online member once and the ref', async (t) => {
  const server = await startServer(t)
  const alice = await connectAs(t, server, 'alice')
  const ref = 'join-1'
  alice.send({ type: 'join', room: 'lobby', ref })
  const joined = await alice.next('joined')
  assert.deepEqual(joined, { type: 'joined', room: 'lobby', seq: 0, members: ['alice'], readSeq: 0, ref })
  assert.ok(!('recovered' in joined), 'recovered comes only with since')

  await alice.request({ type: 'message', room: 'lobby', text: 'one' })
  await alice.request({ type: 'message', room: 'lobby', text: 'two' })

  const bob = await connectAs(t, server, 'bob')
  const bob2 = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  const again = await bob2.join('lobby')
  assert.equal(again.seq, 2)
  assert.deepEqual([...again.members].sort(), ['alice', 'bob'])
})

test('joining a room already joined answers joined again and announces nothing', async (t) => {
  const server = await startServer(t)
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  const presence = await alice.next('presence')
  assert.equal(presence.user, 'bob')

  const again = await bob.join('lobby')
  assert.equal(again.room, 'lobby')
  assert.equal(again.seq, 0)
  assert.deepEqual([...again.members].sort(), ['alice', 'bob'])
  await alice.nothing('presence')
  // Still a member exactly once: one message, one delivery.
  await alice.request({ type: 'message', room: 'lobby', text: 'hi' })
  const [message] = await take(bob, 1, inRoom('lobby'))
  assert.equal(message!.text, 'hi')
  await bob.nothing('message')
})

test('leave answers left; leaving a room not joined is not_member', async (t) => {
  const server = await startServer(t)
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')

  const left = await alice.request({ type: 'leave', room: 'lobby' })
  assert.equal(left.type, 'left')
  assert.equal(left.room, 'lobby')
  assert.match(left.ref, /^r\d+$/)

  const twice = await alice.request({ type: 'leave', room: 'lobby' })
  assert.equal(twice.type, 'error')
  assert.equal(twice.code, 'not_member')
  const never = await alice.request({ type: 'leave', room: 'elsewhere' })
  assert.equal(never.type, 'error')
  assert.equal(never.code, 'not_member')

  // Nothing of the room reaches a connection that left it.
  await bob.request({ type: 'message', room: 'lobby', text: 'still here?' })
  await alice.nothing('message')
  const send = await alice.request({ type: 'message', room: 'lobby', text: 'late' })
  assert.equal(send.code, 'not_member')
})

test('presence goes to the other members, for a user\'s first connection joining and last leaving', async (t) => {
  const server = await startServer(t)
  const alice = await connectAs(t, server, 'alice')
  const outsider = await connectAs(t, server, 'carol')
  await alice.join('room')

  const bob1 = await connectAs(t, server, 'bob')
  await bob1.join('room')
  const join = await alice.next('presence')
  assert.equal(join.room, 'room')
  assert.equal(join.event, 'join')
  assert.equal(join.user, 'bob')
  assert.ok(isIsoTime(join.time), `time ${join.time}`)

  const bob2 = await connectAs(t, server, 'bob')
  const second = await bob2.join('room')
  assert.deepEqual([...second.members].sort(), ['alice', 'bob'], 'bob is listed once')
  await alice.nothing('presence')
  await bob1.nothing('presence')

  await bob1.request({ type: 'leave', room: 'room' })
  await alice.nothing('presence')

  // Closing the last connection counts as leaving.
  bob2.close()
  const leave = await alice.next('presence')
  assert.equal(leave.event, 'leave')
  assert.equal(leave.user, 'bob')
  assert.equal(leave.room, 'room')
  assert.ok(isIsoTime(leave.time))

  // The joiner is never told about itself, and non-members hear nothing.
  await alice.nothing('presence')
  await bob1.nothing('presence')
  await outsider.nothing()
  const online = await http(server.url, 'GET', '/rooms/room/online')
  assert.deepEqual(online.body, { users: [{ user: 'alice', connections: 1 }] })
})

test('a message reaches every member, the sender included, and the sender gets an ack', async (t) => {
  const server = await startServer(t)
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')

  const ack = await alice.request({ type: 'message', room: 'lobby', text: 'hello' })
  assert.equal(ack.type, 'ack')
  assert.deepEqual(Object.keys(ack).sort(), ['id', 'ref', 'room', 'seq', 'type'])
  assert.equal(ack.room, 'lobby')
  assert.equal(ack.seq, 1)
  assert.equal(typeof ack.id, 'string')

  const own = await alice.next('message')
  const other = await bob.next('message')
  assert.deepEqual(own, other)
  assert.deepEqual(Object.keys(own).sort(), ['id', 'room', 'seq', 'text', 'time', 'type', 'user'])
  assert.equal(own.room, 'lobby')
  assert.equal(own.seq, 1)
  assert.equal(own.id, ack.id)
  assert.equal(own.user, 'alice')
  assert.equal(own.text, 'hello')
  assert.ok(isIsoTime(own.time), `time ${own.time}`)

  // Without a ref the ack still comes, without one.
  bob.send({ type: 'message', room: 'lobby', text: 'no ref' })
  const bare = await bob.next('ack')
  assert.ok(!('ref' in bare), JSON.stringify(bare))
  assert.equal(bare.seq, 2)
  assert.equal(bare.room, 'lobby')
  const echoed = await alice.next('message')
  assert.equal(echoed.id, bare.id)
  assert.equal(echoed.user, 'bob')
})

test('seq grows by one per room across senders and rooms; nothing leaks elsewhere', async (t) => {
  const server = await startServer(t, FAST)
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  const carol = await connectAs(t, server, 'carol') // only in A
  const dave = await connectAs(t, server, 'dave') // only in B
  const erin = await connectAs(t, server, 'erin') // in no room
  for (const client of [alice, bob]) {
    await client.join('A')
    await client.join('B')
  }
  await carol.join('A')
  await dave.join('B')
  await erin.join('C')

  // Interleaved, without waiting between sends.
  for (let i = 0; i < 10; i++) {
    alice.send({ type: 'message', room: 'A', text: `a${i}`, ref: `aA${i}` })
    bob.send({ type: 'message', room: 'A', text: `b${i}`, ref: `bA${i}` })
    if (i < 5) {
      alice.send({ type: 'message', room: 'B', text: `a${i}`, ref: `aB${i}` })
      bob.send({ type: 'message', room: 'B', text: `b${i}`, ref: `bB${i}` })
    }
  }
  const acks = [...await take(alice, 15, (f) => f.type === 'ack'), ...await take(bob, 15, (f) => f.type === 'ack')]
  assert.deepEqual(acks.filter((a) => a.room === 'A').map((a) => a.seq).sort((x, y) => x - y), range(1, 20))
  assert.deepEqual(acks.filter((a) => a.room === 'B').map((a) => a.seq).sort((x, y) => x - y), range(1, 10))

  const ids = new Set<string>()
  for (const [client, rooms] of [[alice, ['A', 'B']], [bob, ['A', 'B']], [carol, ['A']], [dave, ['B']]] as const) {
    for (const room of rooms) {
      const messages = await take(client, room === 'A' ? 20 : 10, inRoom(room))
      assert.deepEqual(messages.map((m) => m.seq), range(1, messages.length), `${room} as seen by a member`)
      for (const message of messages) {
        assert.ok(isIsoTime(message.time))
        ids.add(`${message.room}:${message.seq}:${message.id}`)
      }
      // Each sender's own messages keep their order.
      const mine = messages.filter((m) => m.user === 'alice').map((m) => m.text)
      assert.deepEqual(mine, range(0, mine.length - 1).map((i) => `a${i}`))
    }
  }
  // The same 30 messages everywhere, each with its own id.
  assert.equal(ids.size, 30)
  assert.equal(new Set([...ids].map((key) => key.split(':')[2])).size, 30)
  assert.deepEqual(new Set(acks.map((a) => a.id)).size, 30)

  await carol.nothing(inRoom('B'))
  await dave.nothing(inRoom('A'))
  await erin.nothing('message')
  for (const client of [alice, bob, carol, dave]) await client.nothing('message', 50)
})

test('history over WS: newest limit, before, ascending, default 50, limit 1..100', async (t) => {
  const server = await startServer(t, FAST)
  const alice = await connectAs(t, server, 'alice')
  await alice.join('log')
  for (let i = 1; i <= 60; i++) alice.send({ type: 'message', room: 'log', text: `m${i}` })
  const acks = await take(alice, 60, (f) => f.type === 'ack')
  assert.equal(Math.max(...acks.map((a) => a.seq)), 60)

  const seqs = (reply: Frame) => reply.messages.map((m: Frame) => m.seq)

  const all = await alice.request({ type: 'history', room: 'log' })
  assert.equal(all.type, 'history')
  assert.equal(all.room, 'log')
  assert.deepEqual(seqs(all), range(11, 60), 'default limit 50, newest, ascending')
  const last = all.messages.at(-1)
  assert.deepEqual(Object.keys(last).sort(), ['id', 'room', 'seq', 'text', 'time', 'user'])
  assert.equal(last.text, 'm60')
  assert.equal(last.user, 'alice')

  assert.deepEqual(seqs(await alice.request({ type: 'history', room: 'log', limit: 5 })), range(56, 60))
  assert.deepEqual(seqs(await alice.request({ type: 'history', room: 'log', limit: 1 })), [60])
  assert.deepEqual(seqs(await alice.request({ type: 'history', room: 'log', limit: 100 })), range(1, 60))
  assert.deepEqual(seqs(await alice.request({ type: 'history', room: 'log', before: 20, limit: 5 })), range(15, 19))
  assert.deepEqual(seqs(await alice.request({ type: 'history', room: 'log', before: 3 })), [1, 2])
  assert.deepEqual(seqs(await alice.request({ type: 'history', room: 'log', before: 1 })), [])
  assert.deepEqual(seqs(await alice.request({ type: 'history', room: 'log', before: 55 })), range(5, 54))

  for (const limit of [0, 101]) {
    const reply = await alice.request({ type: 'history', room: 'log', limit })
    assert.equal(reply.type, 'error', `limit ${limit}`)
    assert.equal(reply.code, 'bad_request')
    assert.match(reply.message, /limit/)
  }

  // A public room can be read without joining it; an unknown one is not_found.
  const bob = await connectAs(t, server, 'bob')
  assert.deepEqual(seqs(await bob.request({ type: 'history', room: 'log', limit: 2 })), [59, 60])
  const unknown = await bob.request({ type: 'history', room: 'nowhere' })
  assert.equal(unknown.code, 'not_found')
})

test('ping answers pong, with the ref when one is given', async (t) => {
  const server = await startServer(t)
  const alice = await connectAs(t, server, 'alice')
  const pong = await alice.request({ type: 'ping' })
  assert.equal(pong.type, 'pong')
  assert.match(pong.ref, /^r\d+$/)
  alice.send({ type: 'ping' })
  assert.deepEqual(await alice.next('pong'), { type: 'pong' })
})

test('a message to a room not joined is not_member', async (t) => {
  const server = await startServer(t)
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  for (const room of ['lobby', 'empty']) {
    const reply = await alice.request({ type: 'message', room, text: 'hi' })
    assert.equal(reply.type, 'error')
    assert.equal(reply.code, 'not_member')
  }
  await bob.nothing('message')
  const history = await http(server.url, 'GET', '/rooms/lobby/messages')
  assert.deepEqual(history.body.messages, [])
})

test('with CHAT_AUTO_CREATE_ROOMS=false an unknown room is not_found', async (t) => {
  const server = await startServer(t, { CHAT_AUTO_CREATE_ROOMS: false })
  const alice = await connectAs(t, server, 'alice')
  const reply = await alice.request({ type: 'join', room: 'nowhere' })
  assert.equal(reply.type, 'error')
  assert.equal(reply.code, 'not_found')
  assert.equal((await http(server.url, 'GET', '/rooms/nowhere')).status, 404)
  const send = await alice.request({ type: 'message', room: 'nowhere', text: 'hi' })
  assert.equal(send.code, 'not_member')

  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'made' })).status, 201)
  const joined = await alice.join('made')
  assert.equal(joined.seq, 0)
})

test('a private room is forbidden without a grant and joinable with one', async (t) => {
  const server = await startServer(t)
  const created = await http(server.url, 'POST', '/rooms', { id: 'vault', private: true })
  assert.equal(created.status, 201)
  assert.equal(created.body.private, true)
  const alice = await connectAs(t, server, 'alice')

  const refused = await alice.request({ type: 'join', room: 'vault' })
  assert.equal(refused.type, 'error')
  assert.equal(refused.code, 'forbidden')
  const peek = await alice.request({ type: 'history', room: 'vault' })
  assert.equal(peek.code, 'forbidden')
  const send = await alice.request({ type: 'message', room: 'vault', text: 'hi' })
  assert.equal(send.code, 'not_member')

  assert.equal((await http(server.url, 'PUT', '/rooms/vault/grants/alice')).status, 204)
  const joined = await alice.join('vault')
  assert.deepEqual(joined.members, ['alice'])
  const ack = await alice.request({ type: 'message', room: 'vault', text: 'inside' })
  assert.equal(ack.type, 'ack')

  // A grant is for that user only.
  const bob = await connectAs(t, server, 'bob')
  assert.equal((await bob.request({ type: 'join', room: 'vault' })).code, 'forbidden')
})

test('revoking a grant kicks every connection of the user; no message of the room follows', async (t) => {
  const server = await startServer(t, FAST)
  await http(server.url, 'POST', '/rooms', { id: 'vault', private: true })
  await http(server.url, 'PUT', '/rooms/vault/grants/alice')
  await http(server.url, 'PUT', '/rooms/vault/grants/bob')
  const alice = await connectAs(t, server, 'alice')
  const bob1 = await connectAs(t, server, 'bob')
  const bob2 = await connectAs(t, server, 'bob')
  await alice.join('vault')
  for (const bob of [bob1, bob2]) {
    await bob.join('vault')
    await bob.join('lobby')
  }
  await alice.next('presence')
  const logs = [record(bob1), record(bob2)]

  // Messages in flight while the grant is revoked.
  const burst = 30
  for (let i = 0; i < burst; i++) alice.send({ type: 'message', room: 'vault', text: `v${i}` })
  const revoked = await http(server.url, 'DELETE', '/rooms/vault/grants/bob')
  assert.equal(revoked.status, 204)

  for (const bob of [bob1, bob2]) {
    const kicked = await bob.next('kicked')
    assert.equal(kicked.room, 'vault')
    assert.equal(typeof kicked.reason, 'string')
  }
  await take(alice, burst, (f) => f.type === 'ack')
  const after = await alice.request({ type: 'message', room: 'vault', text: 'after' })
  assert.equal(after.seq, burst + 1)
  const leave = await alice.next('presence')
  assert.deepEqual([leave.event, leave.user], ['leave', 'bob'])
  await take(alice, burst + 1, inRoom('vault'))

  for (const log of logs) {
    const kickedAt = log.findIndex((f) => f.type === 'kicked')
    assert.ok(kickedAt >= 0)
    const later = log.slice(kickedAt + 1).filter((f) => f.room === 'vault' && f.type === 'message')
    assert.deepEqual(later, [], 'no message of the room after kicked')
    assert.equal(log.filter((f) => f.type === 'kicked').length, 1)
  }

  // Bob's connections stay open and in their other rooms, but out of the private one.
  for (const bob of [bob1, bob2]) {
    assert.equal(bob.ws.readyState, WebSocket.OPEN)
    assert.equal((await bob.request({ type: 'ping' })).type, 'pong')
    assert.equal((await bob.request({ type: 'join', room: 'vault' })).code, 'forbidden')
    assert.equal((await bob.request({ type: 'message', room: 'vault', text: 'x' })).code, 'not_member')
  }
  await bob1.request({ type: 'message', room: 'lobby', text: 'still in the lobby' })
  assert.equal((await bob2.next(inRoom('lobby'))).text, 'still in the lobby')
  const online = await http(server.url, 'GET', '/rooms/vault/online')
  assert.deepEqual(online.body, { users: [{ user: 'alice', connections: 1 }] })
})

test('deleting a room sends room_deleted; members stay connected and usable', async (t) => {
  const server = await startServer(t)
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('doomed')
  await bob.join('doomed')
  assert.equal((await alice.next('presence')).event, 'join')
  await alice.request({ type: 'message', room: 'doomed', text: 'before' })

  assert.equal((await http(server.url, 'DELETE', '/rooms/doomed')).status, 204)
  for (const client of [alice, bob]) {
    assert.deepEqual(await client.next('room_deleted'), { type: 'room_deleted', room: 'doomed' })
  }
  assert.equal((await http(server.url, 'GET', '/rooms/doomed')).status, 404)

  for (const client of [alice, bob]) {
    assert.equal(client.ws.readyState, WebSocket.OPEN)
    assert.equal((await client.request({ type: 'ping' })).type, 'pong')
    assert.equal((await client.request({ type: 'message', room: 'doomed', text: 'gone' })).code, 'not_member')
  }
  await alice.nothing('presence')
  // A room of the same name starts afresh.
  const joined = await alice.join('doomed')
  assert.equal(joined.seq, 0)
  assert.deepEqual(joined.members, ['alice'])
  await bob.join('other')
  const ack = await alice.request({ type: 'message', room: 'doomed', text: 'again' })
  assert.equal(ack.seq, 1)
})

test('POST /rooms/:id/messages is broadcast to members; user defaults to system', async (t) => {
  const server = await startServer(t)
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('news')
  await bob.join('sports')

  const posted = await http(server.url, 'POST', '/rooms/news/messages', { text: 'extra!' })
  assert.equal(posted.status, 201)
  assert.equal(posted.body.user, 'system')
  assert.equal(posted.body.seq, 1)
  const message = await alice.next('message')
  assert.deepEqual(message, { type: 'message', ...posted.body })

  const asBot = await http(server.url, 'POST', '/rooms/news/messages', { text: 'beep', user: 'bot' })
  assert.equal(asBot.status, 201)
  const second = await alice.next('message')
  assert.equal(second.user, 'bot')
  assert.equal(second.seq, 2)
  assert.equal(second.id, asBot.body.id)
  await bob.nothing('message')
})
