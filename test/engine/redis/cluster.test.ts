import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { connect, connectAs, eventually, type Frame, http, type Overrides, spawnServer, startServer, type TestClient, type TestServer } from '../../helper.ts'
import { layoutTest, type RedisTarget } from '../../redis-layouts.ts'

/** Two nodes of one deployment: two whole apps on one Redis. */
async function twoNodes (t: TestContext, redis: RedisTarget, overrides: Overrides = {}): Promise<[TestServer, TestServer]> {
  const config = { ...overrides, ...redis.config }
  return [await startServer(t, config), await startServer(t, config)]
}

const onlineUsers = async (server: { url: string }, room: string) => {
  const { body } = await http(server.url, 'GET', `/rooms/${room}/online`)
  return (body.users as { user: string, connections: number }[]).sort((a, b) => a.user.localeCompare(b.user))
}

const isPresence = (event: string, user: string) => (frame: Frame) =>
  frame.type === 'presence' && frame.event === event && frame.user === user

layoutTest('a message sent on one node reaches members on the other with the same seq; members and presence span nodes', async (t, redis) => {
  const [a, b] = await twoNodes(t, redis)
  const alice = await connectAs(t, a, 'alice')
  const bob = await connectAs(t, b, 'bob')
  assert.deepEqual((await alice.join('lobby')).members, ['alice'])
  const joined = await bob.join('lobby')
  assert.deepEqual([...joined.members].sort(), ['alice', 'bob'], 'members on the other node are listed')
  const bobJoins = await alice.next(isPresence('join', 'bob'))
  assert.equal(bobJoins.room, 'lobby')

  const ack = await alice.request({ type: 'message', room: 'lobby', text: 'hello from a' })
  assert.equal(ack.type, 'ack')
  const onB = await bob.next('message')
  const onA = await alice.next('message')
  assert.deepEqual(onB, onA, 'the same frame on both nodes')
  assert.equal(onB.seq, ack.seq)
  assert.equal(onB.id, ack.id)
  assert.equal(onB.text, 'hello from a')

  const reply = await bob.request({ type: 'message', room: 'lobby', text: 'hello from b' })
  assert.equal(reply.seq, ack.seq + 1, 'seq is one sequence over both nodes')
  assert.equal((await alice.next('message')).seq, reply.seq)
  await bob.next('message')

  const posted = await http(b.url, 'POST', '/rooms/lobby/messages', { text: 'over REST on b' })
  assert.equal(posted.status, 201)
  assert.equal(posted.body.seq, reply.seq + 1)
  assert.equal((await alice.next('message')).text, 'over REST on b')
  const history = await http(a.url, 'GET', '/rooms/lobby/messages')
  assert.deepEqual(history.body.messages.map((m: Frame) => m.seq), [1, 2, 3])

  // A second connection of bob, on the first node, is not a new presence.
  const bobToo = await connectAs(t, a, 'bob')
  await bobToo.join('lobby')
  bob.close()
  await alice.nothing(isPresence('leave', 'bob'), 300)
  bobToo.send({ type: 'leave', room: 'lobby' })
  const left = await alice.next(isPresence('leave', 'bob'))
  assert.equal(left.room, 'lobby')
})

layoutTest('GET /rooms/:id/online agrees on both nodes', async (t, redis) => {
  const [a, b] = await twoNodes(t, redis)
  const clients: TestClient[] = []
  for (const [server, user] of [[a, 'alice'], [b, 'alice'], [b, 'bob'], [a, 'carol']] as const) {
    const client = await connectAs(t, server, user)
    await client.join('counted')
    clients.push(client)
  }
  const expected = [{ user: 'alice', connections: 2 }, { user: 'bob', connections: 1 }, { user: 'carol', connections: 1 }]
  await eventually(async () => JSON.stringify(await onlineUsers(a, 'counted')) === JSON.stringify(expected), 3000, 'online on a')
  assert.deepEqual(await onlineUsers(b, 'counted'), expected)
  assert.equal((await http(b.url, 'GET', '/rooms/counted')).body.online, 3, 'the room object counts distinct users')

  clients[0]!.close()
  clients[2]!.close()
  const after = [{ user: 'alice', connections: 1 }, { user: 'carol', connections: 1 }]
  await eventually(async () => JSON.stringify(await onlineUsers(b, 'counted')) === JSON.stringify(after), 3000, 'online on b after leaving')
  assert.deepEqual(await onlineUsers(a, 'counted'), after)
})

layoutTest('revoking a grant on one node kicks the user\'s connections on the other; deleting a room reaches it too', async (t, redis) => {
  const [a, b] = await twoNodes(t, redis)
  assert.equal((await http(a.url, 'POST', '/rooms', { id: 'vault', private: true })).status, 201)
  assert.equal((await http(b.url, 'PUT', '/rooms/vault/grants/bob')).status, 204, 'a grant made on b')
  const bob = await connectAs(t, b, 'bob')
  const alice = await connectAs(t, a, 'alice')
  await http(a.url, 'PUT', '/rooms/vault/grants/alice')
  await bob.join('vault')
  await alice.join('vault')

  assert.equal((await http(a.url, 'DELETE', '/rooms/vault/grants/bob')).status, 204)
  const kicked = await bob.next('kicked')
  assert.equal(kicked.room, 'vault')
  await alice.next(isPresence('leave', 'bob'))
  await alice.request({ type: 'message', room: 'vault', text: 'after the kick' })
  await bob.nothing((frame) => frame.type === 'message', 300)
  const again = await bob.request({ type: 'join', room: 'vault' })
  assert.equal(again.code, 'forbidden', 'the revoked grant holds on every node')

  await bob.join('lobby')
  await alice.join('lobby')
  assert.equal((await http(a.url, 'DELETE', '/rooms/lobby')).status, 204)
  assert.deepEqual(await bob.next('room_deleted'), { type: 'room_deleted', room: 'lobby' })
  assert.deepEqual(await alice.next('room_deleted'), { type: 'room_deleted', room: 'lobby' })
  assert.deepEqual(await onlineUsers(b, 'vault'), [{ user: 'alice', connections: 1 }])
  const pong = await bob.request({ type: 'ping' })
  assert.equal(pong.type, 'pong', 'members stay connected')
})

layoutTest('a join with since on one node replays what was sent on the other, exactly once, while sending goes on', async (t, redis) => {
  const [a, b] = await twoNodes(t, redis, { CHAT_MSG_RATE: 1000 })
  const alice = await connectAs(t, a, 'alice')
  await alice.join('busy')
  for (let i = 1; i <= 5; i++) await alice.request({ type: 'message', room: 'busy', text: `early ${i}` })

  const bob = await connectAs(t, b, 'bob')
  const replay = await bob.join('busy', { since: 2 })
  assert.equal(replay.seq, 5)
  assert.equal(replay.recovered, true)
  const replayed = [await bob.next('message'), await bob.next('message'), await bob.next('message')]
  assert.deepEqual(replayed.map((m) => m.seq), [3, 4, 5])
  bob.send({ type: 'leave', room: 'busy' })
  await bob.next('left')

  // Alice keeps sending while bob rejoins from seq 1: every later message arrives once, in order.
  const total = 60
  for (let i = 6; i <= total; i++) alice.send({ type: 'message', room: 'busy', text: `live ${i}` })
  const rejoined = await bob.join('busy', { since: 1 })
  assert.equal(rejoined.recovered, true)
  const seen: number[] = []
  for (let i = 2; i <= total; i++) seen.push((await bob.next('message')).seq)
  assert.deepEqual(seen, Array.from({ length: total - 1 }, (_, i) => i + 2))
  await bob.nothing('message', 300)
})

layoutTest('a node that dies has its users leave presence on the other nodes', async (t, redis) => {
  const a = await startServer(t, redis.config)
  const doomed = await spawnServer(t, { ...redis.env, CHAT_DB: ':memory:' })
  const alice = await connectAs(t, a, 'alice')
  await alice.join('room')
  const { client: carol } = await connect(`${doomed.wsUrl}?user=carol`)
  t.after(() => carol.ws.terminate())
  const joined = await carol.join('room')
  assert.deepEqual([...joined.members].sort(), ['alice', 'carol'])
  await alice.next(isPresence('join', 'carol'))
  assert.deepEqual(await onlineUsers(a, 'room'), [{ user: 'alice', connections: 1 }, { user: 'carol', connections: 1 }])

  doomed.child.kill('SIGKILL')
  await doomed.exited
  const left = await alice.next(isPresence('leave', 'carol'), 15_000)
  assert.equal(left.room, 'room')
  assert.deepEqual(await onlineUsers(a, 'room'), [{ user: 'alice', connections: 1 }])
  const rejoin = await connectAs(t, a, 'dave')
  assert.deepEqual([...(await rejoin.join('room')).members].sort(), ['alice', 'dave'])
})

layoutTest('members keep every message, once and in order, without re-joining, when the subscriptions are cut', async (t, redis) => {
  const [a, b] = await twoNodes(t, redis, { CHAT_MSG_RATE: 1000 })
  const alice = await connectAs(t, a, 'alice')
  const bob = await connectAs(t, b, 'bob')
  await alice.join('steady')
  await bob.join('steady')
  const total = 150
  const cuts = (async () => {
    for (let cut = 0; cut < 3; cut++) {
      await new Promise((resolve) => setTimeout(resolve, 40))
      await Promise.all(redis.primaries().map((node) => node.client('KILL', 'TYPE', 'pubsub')))
    }
  })()
  for (let i = 1; i <= total; i++) {
    alice.send({ type: 'message', room: 'steady', text: `m${i}` })
    if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  await cuts
  const onB: number[] = []
  const onA: number[] = []
  for (let i = 0; i < total; i++) onB.push((await bob.next('message', 15_000)).seq)
  for (let i = 0; i < total; i++) onA.push((await alice.next('message', 15_000)).seq)
  const expected = Array.from({ length: total }, (_, i) => i + 1)
  assert.deepEqual(onB, expected, 'the member on the other node')
  assert.deepEqual(onA, expected, 'the sender, on its own node')
  await bob.nothing('message', 300)
  await eventually(() => alice.frames.filter((frame) => frame.type === 'ack').length === total, 5000, 'every send acknowledged')
  assert.deepEqual(alice.frames.filter((frame) => frame.type === 'ack').map((frame) => frame.seq), expected)
  // Each restored subscription was followed by a read of history, and operators can see it.
  const metrics = (await http(b.url, 'GET', '/metrics')).text
  assert.match(metrics, /^chat_redis_rooms_followed 1$/m)
  const repairs = Number(/^chat_redis_gap_repairs_total (\d+)$/m.exec(metrics)?.[1])
  assert.ok(repairs >= 1, `gap repairs on the member's node: ${repairs}`)
  assert.match(metrics, /^chat_redis_repaired_messages_total \d+$/m)
})

layoutTest('a clientId sent on one node is a duplicate on the other, over WebSocket and REST', async (t, redis) => {
  const [a, b] = await twoNodes(t, redis)
  const onA = await connectAs(t, a, 'alice')
  const onB = await connectAs(t, b, 'alice')
  await onA.join('lobby')
  await onB.join('lobby')
  const first = await onA.request({ type: 'message', room: 'lobby', text: 'once', clientId: 'x-1' })
  assert.equal(first.duplicate, undefined)
  const repeat = await onB.request({ type: 'message', room: 'lobby', text: 'once', clientId: 'x-1' })
  assert.equal(repeat.duplicate, true)
  assert.equal(repeat.seq, first.seq)
  assert.equal(repeat.id, first.id)
  const overRest = await http(b.url, 'POST', '/rooms/lobby/messages', { text: 'once', user: 'alice', clientId: 'x-1' })
  assert.equal(overRest.status, 200)
  assert.equal(overRest.body.id, first.id)
  assert.equal(overRest.body.clientId, 'x-1')
  await onB.next((frame) => frame.type === 'message' && frame.seq === first.seq)
  await onB.nothing('message', 300)
  const history = await http(a.url, 'GET', '/rooms/lobby/messages')
  assert.equal(history.body.messages.length, 1)
})
