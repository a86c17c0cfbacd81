import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { connect, connectAs, eventually, spawnServer } from '../helper.ts'
import { nodesTest } from '../engines.ts'
import { startPostgres } from '../postgres-helper.ts'
import { layoutTest, startRedisTarget } from '../redis-layouts.ts'
import { startReceiver, webhookConfig } from './receiver.ts'

nodesTest('each event goes to each URL from one node: two nodes deliver every event once', async (start, t) => {
  const receiver = await startReceiver(t)
  const config = webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'message.created,presence.join', CHAT_MSG_RATE: 1000 })
  const one = await start(config)
  const two = await start(config)
  const rooms = Array.from({ length: 8 }, (_, i) => `room-${i}`)
  const sent: string[] = []
  await Promise.all(rooms.map(async (room, i) => {
    const client = await connectAs(t, i % 2 === 0 ? one : two, `user-${i}`)
    await client.join(room)
    for (let m = 0; m < 10; m++) sent.push((await client.request({ type: 'message', room, text: `${room} ${m}` })).id)
  }))
  await receiver.waitFor(80, 'message.created', 30_000)
  await receiver.waitFor(8, 'presence.join')
  // Quiet for a while: a second delivery of anything would show up now.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  assert.equal(receiver.requests.length, 88, 'no event sent twice')
  assert.deepEqual(receiver.delivered.filter((event) => event.type === 'message.created').map((event) => event.data.id).sort(), sent.sort())
  for (const room of rooms) {
    const seqs = receiver.delivered.filter((event) => event.room === room && event.type === 'message.created').map((event) => event.data.seq)
    assert.deepEqual(seqs, Array.from({ length: 10 }, (_, i) => i + 1), `${room} in order`)
  }
  receiver.assertAllValid()
}, { timeout: 90_000 })

/** A node dies mid-delivery: another takes its leases over, and records and delivers its users' leaves. */
async function nodeDiesMidDelivery (t: TestContext, engine: Record<string, string>): Promise<void> {
  const receiver = await startReceiver(t)
  let hang = true
  receiver.answer = () => (hang ? 'hang' : 204)
  const env = { ...engine, ...webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'message.created,presence.leave' }) } as Record<string, string>
  // Alone, the first node takes every lease; its attempts hang at the receiver.
  const first = await spawnServer(t, env)
  const { client } = await connect(`${first.wsUrl}?user=alice`)
  t.after(() => client.ws.terminate())
  await client.join('lobby')
  const ids: string[] = []
  for (let i = 0; i < 3; i++) ids.push((await client.request({ type: 'message', room: 'lobby', text: `m${i}` })).id)
  await eventually(() => receiver.requests.length >= 1, 10_000, 'an attempt under way')

  const second = await spawnServer(t, env)
  first.child.kill('SIGKILL')
  hang = false
  // The lease runs out (15 s), the second node takes it and reads what the first had not finished.
  await receiver.waitFor(3, 'message.created', 60_000)
  assert.deepEqual([...new Set(receiver.delivered.filter((event) => event.type === 'message.created').map((event) => event.data.id))], ids)
  // alice's node died: the survivor's dead-node cleanup records her leave, and delivers it.
  const [leave] = await receiver.waitFor(1, 'presence.leave', 30_000)
  assert.deepEqual([leave!.room, leave!.data.user], ['lobby', 'alice'])
  assert.ok(second.child.exitCode === null)
  receiver.assertAllValid()
}

layoutTest('a node that dies mid-delivery leaves nothing stuck: another takes its leases over and delivers', (t, redis) => nodeDiesMidDelivery(t, redis.env))

test('postgres-redis: a node that dies mid-delivery leaves nothing stuck: another takes its leases over and delivers', async (t) => {
  const postgres = await startPostgres(t)
  const redis = postgres === undefined ? undefined : await startRedisTarget(t, 'standalone')
  if (postgres === undefined || redis === undefined) return
  await nodeDiesMidDelivery(t, { ...redis.env, CHAT_DATABASE_URL: await postgres.database() })
})
