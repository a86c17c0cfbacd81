import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connectAs, http, startServer, TestClient, type Frame, type TestServer } from '../helper.ts'

const FAST = { CHAT_MSG_RATE: 10_000 }
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** Sends `count` messages to `room` without waiting, then waits for every ack; resolves the last seq. */
async function sendMany (client: TestClient, room: string, count: number, prefix = 'm'): Promise<number> {
  for (let i = 0; i < count; i++) client.send({ type: 'message', room, text: `${prefix}${i}` })
  let last = 0
  for (let i = 0; i < count; i++) last = Math.max(last, (await client.next((f) => f.type === 'ack' && f.room === room)).seq)
  return last
}

/** A client whose every frame, from the first, is kept in arrival order. */
function recordingClient (t: Parameters<typeof startServer>[0], server: TestServer, user: string) {
  const client = new TestClient(`${server.wsUrl}?user=${user}`)
  const log: Frame[] = []
  client.ws.on('message', (data) => log.push(JSON.parse(data.toString()) as Frame))
  t.after(() => client.ws.terminate())
  return { client, log }
}

test('a reconnecting client gets joined, then exactly the missed messages, then the live ones', async (t) => {
  const server = await startServer(t, FAST)
  const alice = await connectAs(t, server, 'alice')
  const carol = await connectAs(t, server, 'carol')
  // Several rounds, each in its own room: the join lands at a different point of the stream each time.
  for (const [round, room] of ['r1', 'r2', 'r3'].entries()) {
    await alice.join(room)
    await carol.join(room)
    const first = await connectAs(t, server, 'bob')
    await first.join(room)
    await sendMany(alice, room, 10)
    const seen = (await Promise.all(range(1, 10).map(() => first.next((f) => f.type === 'message' && f.room === room))))
      .map((m) => m.seq)
    assert.deepEqual(seen, range(1, 10))
    const since = 10
    first.ws.terminate()
    await first.closed

    // Missed while away.
    await sendMany(carol, room, 20)

    // Two senders keep going, one message after the other's ack, while bob comes back.
    let joinedAt = -1
    let sentAfterJoin = 0
    let stop = false
    const keepSending = async (client: TestClient, name: string) => {
      for (let i = 0; i < 300 && !stop; i++) {
        const ack = await client.request({ type: 'message', room, text: `${name}${i}` })
        assert.equal(ack.type, 'ack')
        if (joinedAt >= 0 && ++sentAfterJoin >= 20) stop = true
      }
    }
    const senders = [keepSending(alice, 'a'), keepSending(carol, 'c')]
    // Let the stream get going before bob reconnects.
    await alice.next((f) => f.type === 'message' && f.room === room && f.seq >= 30 + 2 + round)

    const { client: bob, log } = recordingClient(t, server, 'bob')
    await bob.next('welcome')
    bob.send({ type: 'join', room, since, ref: 'back' })
    const joined = await bob.next('joined')
    joinedAt = joined.seq
    await Promise.all(senders)
    stop = true
    const latest = (await http(server.url, 'GET', `/rooms/${room}/messages?limit=1`)).body.messages[0].seq as number
    assert.ok(latest >= joined.seq + 20, `live messages followed the join (latest ${latest}, joined at ${joined.seq})`)

    const received: number[] = []
    for (let i = since + 1; i <= latest; i++) received.push((await bob.next('message')).seq)
    await bob.nothing('message', 100)
    assert.deepEqual(received, range(since + 1, latest), 'since+1..latest, contiguous, no duplicate')

    assert.equal(joined.ref, 'back')
    assert.equal(joined.recovered, true)
    assert.ok(joined.seq > since)
    const types = log.map((f) => f.type)
    assert.equal(types[0], 'welcome')
    assert.equal(types[1], 'joined', 'joined before any replayed message')
    const seqs = log.filter((f) => f.type === 'message').map((f) => f.seq as number)
    assert.deepEqual(seqs, range(since + 1, latest), 'since+1..latest, contiguous, no duplicate')
    assert.ok(log.filter((f) => f.type === 'message').every((f) => f.room === room))
    bob.close()
    await bob.closed
  }
})

test('since = latest replays nothing and is recovered', async (t) => {
  const server = await startServer(t, FAST)
  const alice = await connectAs(t, server, 'alice')
  await alice.join('room')
  const latest = await sendMany(alice, 'room', 5)
  assert.equal(latest, 5)

  const bob = await connectAs(t, server, 'bob')
  const joined = await bob.join('room', { since: latest })
  assert.equal(joined.seq, 5)
  assert.equal(joined.recovered, true)
  await bob.nothing('message')

  await alice.request({ type: 'message', room: 'room', text: 'live' })
  const live = await bob.next('message')
  assert.deepEqual([live.seq, live.text], [6, 'live'])

  // since 0 on an empty room is recovered too.
  const carol = await connectAs(t, server, 'carol')
  const empty = await carol.join('fresh', { since: 0 })
  assert.deepEqual([empty.seq, empty.recovered], [0, true])
  await carol.nothing('message')
})

test('a room with historyLimit replays only what it kept and says recovered false', async (t) => {
  const server = await startServer(t, FAST)
  const created = await http(server.url, 'POST', '/rooms', { id: 'short', historyLimit: 5 })
  assert.equal(created.status, 201)
  assert.equal(created.body.historyLimit, 5)
  const alice = await connectAs(t, server, 'alice')
  await alice.join('short')
  assert.equal(await sendMany(alice, 'short', 20), 20)

  const bob = await connectAs(t, server, 'bob')
  const behind = await bob.join('short', { since: 2 })
  assert.equal(behind.seq, 20)
  assert.equal(behind.recovered, false)
  const replayed = await Promise.all(range(16, 20).map(() => bob.next('message')))
  assert.deepEqual(replayed.map((m) => m.seq), range(16, 20))
  await bob.nothing('message')

  // The boundary: since 15 needs 16.. which are kept; since 14 needs 15, which is gone.
  const carol = await connectAs(t, server, 'carol')
  const exact = await carol.join('short', { since: 15 })
  assert.equal(exact.recovered, true)
  assert.deepEqual((await Promise.all(range(16, 20).map(() => carol.next('message')))).map((m) => m.seq), range(16, 20))
  const dave = await connectAs(t, server, 'dave')
  const gap = await dave.join('short', { since: 14 })
  assert.equal(gap.recovered, false)
  assert.deepEqual((await Promise.all(range(16, 20).map(() => dave.next('message')))).map((m) => m.seq), range(16, 20))
  await dave.nothing('message')
})

test('a room keeps exactly its newest historyLimit messages', async (t) => {
  const server = await startServer(t, { ...FAST, CHAT_HISTORY_LIMIT: 4 })
  const seqs = async (room: string) => {
    const reply = await http(server.url, 'GET', `/rooms/${room}/messages?limit=100`)
    assert.equal(reply.status, 200)
    return reply.body.messages.map((m: Frame) => m.seq) as number[]
  }
  await http(server.url, 'POST', '/rooms', { id: 'five', historyLimit: 5 })
  const alice = await connectAs(t, server, 'alice')
  await alice.join('five')

  await sendMany(alice, 'five', 3)
  assert.deepEqual(await seqs('five'), [1, 2, 3])
  await sendMany(alice, 'five', 4)
  assert.deepEqual(await seqs('five'), range(3, 7))
  // Messages posted over REST count the same.
  for (let i = 0; i < 3; i++) assert.equal((await http(server.url, 'POST', '/rooms/five/messages', { text: `rest${i}` })).status, 201)
  assert.deepEqual(await seqs('five'), range(6, 10))
  const history = await alice.request({ type: 'history', room: 'five', limit: 100 })
  assert.deepEqual(history.messages.map((m: Frame) => m.seq), range(6, 10))
  assert.deepEqual(history.messages.slice(-3).map((m: Frame) => m.text), ['rest0', 'rest1', 'rest2'])

  // Without a room setting, CHAT_HISTORY_LIMIT applies.
  await alice.join('default')
  await sendMany(alice, 'default', 9)
  assert.deepEqual(await seqs('default'), range(6, 9))
})
