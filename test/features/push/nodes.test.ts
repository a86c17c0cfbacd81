import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { nodesTest, type StartNode } from '../../engines.ts'
import { connectAs, startServer, tempDir, type TestServer } from '../../helper.ts'
import type { PushService } from '../../push/push-service.ts'
import { awayUser, pushConfig, pushService } from './push-helpers.ts'

nodesTest('each push goes out once, whichever node stored the message; a window spans the nodes', async (start, t) => {
  const service = await pushService(t)
  const a = await start(pushConfig({ CHAT_PUSH_COALESCE_MS: 400 }))
  const b = await start(pushConfig({ CHAT_PUSH_COALESCE_MS: 400 }))
  const rooms = Array.from({ length: 8 }, (_, i) => `room-${i}`)
  const subscription = service.subscription('alice')
  const alice = await connectAs(t, a, 'alice')
  for (const room of rooms) await alice.join(room)
  assert.equal((await alice.request({ type: 'push_subscribe', subscription })).type, 'ack')
  alice.close()
  await alice.closed
  const bobOnA = await connectAs(t, a, 'bob')
  const bobOnB = await connectAs(t, b, 'bob')
  for (const room of rooms) {
    await bobOnA.join(room)
    await bobOnB.join(room)
  }
  // One message in each room, from either node: a push each, sent by one node.
  await Promise.all(rooms.map((room, i) => (i % 2 === 0 ? bobOnA : bobOnB).request({ type: 'message', room, text: `hi in ${room}` })))
  await service.waitFor((received) => received.length === rooms.length)
  // In one room, from both nodes within the window: the second and third make one push at its end.
  await bobOnA.request({ type: 'message', room: 'room-0', text: 'from a' })
  const last = await bobOnB.request({ type: 'message', room: 'room-0', text: 'from b' })
  await service.waitFor((received) => received.length === rooms.length + 1)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  assert.equal(service.received.length, rooms.length + 1, 'no push twice')
  const pushed = service.received.map((push) => push.json() as { room: string, text: string, seq: number })
  assert.deepEqual(pushed.slice(0, rooms.length).map((push) => push.room).sort(), [...rooms].sort())
  assert.deepEqual(pushed.at(-1), { type: 'message', room: 'room-0', seq: last.seq, user: 'bob', text: 'from b' })
})

/**
 * A push that failed waits for its retry in storage: the node that tried it stops, another
 * (or the same, started again) sends it once the push service answers.
 */
async function survivesRestart (service: PushService, first: TestServer, second: () => Promise<TestServer>, t: Parameters<typeof connectAs>[0]) {
  const subscription = service.subscription('alice')
  await awayUser(await connectAs(t, first, 'alice'), 'lobby', subscription)
  service.answer(subscription.endpoint, 503)
  const bob = await connectAs(t, first, 'bob')
  await bob.join('lobby')
  const sent = await bob.request({ type: 'message', room: 'lobby', text: 'while it was down' })
  const tried = Date.now()
  for (let i = 0; i < 100 && service.attempts.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  assert.deepEqual(service.attempts.map((attempt) => attempt.status), [503])
  bob.close()
  await first.app.close()
  const next = await second()
  await service.waitFor((received) => received.length === 1, 15_000)
  assert.ok(service.received[0]!.at - tried < 10_000)
  assert.deepEqual(service.received[0]!.json(), { type: 'message', room: 'lobby', seq: sent.seq, user: 'bob', text: 'while it was down' })
  const metrics = await (await fetch(`${next.url}/metrics`)).text()
  assert.match(metrics, /chat_pushes_total\{outcome="delivered"\} 1/)
}

nodesTest('a push waiting for its retry survives its node stopping: another node sends it', async (start: StartNode, t) => {
  const service = await pushService(t)
  await survivesRestart(service, await start(pushConfig()), () => start(pushConfig()), t)
})

test('file database: a push waiting for its retry is sent after a restart', { timeout: 60_000 }, async (t) => {
  const service = await pushService(t)
  const db = join(tempDir(t), 'chat.sqlite')
  await survivesRestart(service, await startServer(t, pushConfig({ CHAT_DB: db })), () => startServer(t, pushConfig({ CHAT_DB: db })), t)
})
