import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import pino from 'pino'
import { createRedisEngine } from '../../../src/engine/redis/engine.ts'
import { type ChatEngine, type RoomEvent } from '../../../src/engine/types.ts'
import { eventually } from '../../helper.ts'
import { layoutTest, type RedisTarget, startRedisTarget } from '../../redis-layouts.ts'
import { appendMany, range, seqs } from '../store-engines.ts'

const silent = pino({ level: 'silent' })

/** An engine on the given Redis, closed when the test ends. */
async function openEngine (t: TestContext, redis: RedisTarget, defaultHistoryLimit = 1000, clientIdTtlMs?: number): Promise<ChatEngine> {
  const engine = await createRedisEngine({ url: redis.url, cluster: redis.cluster, defaultHistoryLimit, log: silent, clientIdTtlMs })
  t.after(async () => {
    await engine.broker.close()
    await engine.store.close()
  })
  return engine
}

layoutTest('two engines appending to one room share one gap-free seq', async (t, redis) => {
  const a = (await openEngine(t, redis)).store
  const b = (await openEngine(t, redis)).store
  await a.createRoom({ id: 'shared' })
  const pending = []
  for (let i = 0; i < 100; i++) pending.push((i % 2 === 0 ? a : b).append('shared', 'u', String(i)).then((appended) => appended.message))
  const results = await Promise.all(pending)
  assert.deepEqual(seqs(results).sort((x, y) => x - y), range(1, 100))
  assert.deepEqual(seqs(await b.history('shared', 100)), range(1, 100))
})

layoutTest('every key of a room carries its partition\'s tag; deleting a room removes every key of it', async (t, redis) => {
  const store = (await openEngine(t, redis)).store
  await store.createRoom({ id: 'gone' })
  await store.createRoom({ id: 'kept' })
  await appendMany(store, 'gone', 3)
  await store.setGrant('gone', 'alice')
  const keys = await redis.keys('*gone*')
  assert.equal(keys.length, 3, `room, messages and grants: ${keys.join(', ')}`)
  const tags = new Set(keys.map((key) => /\{p\d+[a-z]+\}/.exec(key)?.[0]))
  assert.equal(tags.size, 1, 'one hash tag for the whole room')
  assert.equal(await store.deleteRoom('gone'), true)
  assert.deepEqual(await redis.keys('*gone*'), [], 'no key of the room is left')
  assert.deepEqual(await redis.inspect(t).zrange('chat:rooms', 0, -1), ['kept'])
})

layoutTest('a room\'s events reach a node once it has a member there, and before append resolves there', async (t, redis) => {
  const engine = await openEngine(t, redis)
  const other = await openEngine(t, redis)
  const here: RoomEvent[] = []
  const there: RoomEvent[] = []
  engine.broker.subscribe((event) => here.push(event))
  other.broker.subscribe((event) => there.push(event))
  await engine.store.createRoom({ id: 'live' })
  await engine.store.createRoom({ id: 'elsewhere' })
  await engine.broker.presenceAdd('live', 'alice', 'c1')
  await other.broker.presenceAdd('live', 'bob', 'c2')
  const messages = await Promise.all([1, 2, 3].map((i) => engine.store.append('live', 'u', `m${i}`).then((appended) => appended.message)))
  // Each event carries the message's JSON as stored, which is what framing it for members uses.
  const events = messages.map((message) => ({ kind: 'message', message, json: JSON.stringify(message) }))
  assert.deepEqual(here, events)
  // publish() of a stored message adds nothing: the append already published it.
  for (const message of messages) engine.broker.publish({ kind: 'message', message })
  // A room no member here is in sends nothing to either node.
  await engine.store.append('elsewhere', 'u', 'unheard')
  engine.broker.publish({ kind: 'kick', room: 'elsewhere', user: 'x', reason: 'r' })
  engine.broker.publish({ kind: 'kick', room: 'live', user: 'carol', reason: 'access revoked' })
  const kick: RoomEvent = { kind: 'kick', room: 'live', user: 'carol', reason: 'access revoked' }
  await eventually(() => there.length >= 4 && here.length >= 4, 5000, 'the events on both engines')
  assert.deepEqual(there, [...events, kick])
  assert.equal(await engine.store.latestSeq('live'), 3)
  assert.deepEqual(here.slice(3), [kick], 'the publishing node gets its own event once, through Redis')
})

layoutTest('acknowledged messages outlive the engine that wrote them', async (t, redis) => {
  const first = await createRedisEngine({ url: redis.url, cluster: redis.cluster, defaultHistoryLimit: 100, log: silent })
  await first.store.createRoom({ id: 'kept', name: 'Kept', private: true, historyLimit: 4, slowModeMs: 700 })
  await first.store.setGrant('kept', 'alice')
  const written = await appendMany(first.store, 'kept', 6)
  const pending = first.store.append('kept', 'u', 'flushed by close').then((appended) => appended.message)
  await first.broker.close()
  await first.store.close()
  assert.equal((await pending).seq, 7, 'a pending append is written before the store closes')
  await assert.rejects(first.store.append('kept', 'u', 'late'))
  await first.store.close()

  const second = (await openEngine(t, redis, 100)).store
  assert.deepEqual(await second.getRoom('kept'), { id: 'kept', name: 'Kept', private: true, historyLimit: 4, slowModeMs: 700, retentionDays: null, createdAt: (await second.getRoom('kept'))!.createdAt })
  assert.equal(await second.hasGrant('kept', 'alice'), true)
  assert.deepEqual(seqs(await second.history('kept', 100)), [4, 5, 6, 7])
  assert.deepEqual((await second.history('kept', 100)).slice(0, 3), written.slice(3))
  assert.equal((await second.append('kept', 'bob', 'after restart')).message.seq, 8)
})

layoutTest('a Redis outage makes ready() false and append reject, without hanging', async (t, redis) => {
  const engine = await openEngine(t, redis)
  await engine.store.createRoom({ id: 'r' })
  assert.equal(await engine.store.ready(), true)
  assert.equal(await engine.broker.ready(), true)
  await Promise.all(redis.primaries().map((node) => node.shutdown('NOSAVE').catch(() => {})))
  await assert.rejects(engine.store.append('r', 'u', 'lost'))
  assert.equal(await engine.store.ready(), false)
  assert.equal(await engine.broker.ready(), false)
  await assert.rejects(engine.broker.online('r'))
}, { own: true })

layoutTest('rooms spread over many slots keep one contiguous seq each', async (t, redis) => {
  const a = (await openEngine(t, redis)).store
  const b = (await openEngine(t, redis)).store
  const rooms = Array.from({ length: 40 }, (_, i) => `spread-${i}`)
  for (const id of rooms) await a.createRoom({ id })
  const tags = new Set((await redis.keys('chat:{p*}:room:spread-*')).map((key) => /\{p\d+[a-z]+\}/.exec(key)?.[0]))
  assert.ok(tags.size >= 20, `the rooms fall in many partitions (${tags.size})`)
  const results = await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? b : a).append(rooms[i % rooms.length]!, 'u', String(i)).then((appended) => appended.message)))
  for (const id of rooms) {
    const mine = results.filter((m) => m.room === id)
    assert.deepEqual(seqs(mine).sort((x, y) => x - y), range(1, 10), `room ${id}`)
    assert.deepEqual(seqs(await b.history(id, 100)), range(1, 10))
  }
  assert.deepEqual((await a.listRooms(100)).rooms.map((r) => r.id), [...rooms].sort())
})

test('rooms of the single-channel layout are moved to their partitions\' keys at start-up, once', async (t) => {
  const redis = await startRedisTarget(t, 'standalone')
  if (redis === undefined) return
  const client = redis.inspect(t)
  const message = (seq: number) => JSON.stringify({ room: 'lobby', seq, id: `id-${seq}`, user: 'alice', text: `old ${seq}`, time: new Date(seq * 1000).toISOString() })
  await client.zadd('chat:rooms', 0, 'lobby', 0, 'staff')
  await client.hset('chat:room:lobby', 'name', 'Lobby', 'private', '0', 'historyLimit', '', 'createdAt', '2024-01-01T00:00:00.000Z', 'lastSeq', 2)
  await client.zadd('chat:msgs:lobby', 1, message(1), 2, message(2))
  await client.hset('chat:room:staff', 'name', 'Staff', 'private', '1', 'historyLimit', '5', 'createdAt', '2024-01-02T00:00:00.000Z', 'lastSeq', 0)
  await client.sadd('chat:grants:staff', 'bob')
  await client.hset('chat:presence:lobby', 'alice', 1)
  await client.zadd('chat:nodes', 1, 'old-node')
  await client.sadd('chat:node:old-node:presence', 'lobby\u0000alice\u0000c1')

  const store = (await openEngine(t, redis)).store
  assert.equal(await client.get('chat:layout'), '3')
  assert.deepEqual(await redis.keys('chat:room:*'), [], 'nothing is left under the old names')
  assert.deepEqual(await redis.keys('chat:*presence*'), [])
  assert.deepEqual(await store.getRoom('lobby'), { id: 'lobby', name: 'Lobby', private: false, historyLimit: null, slowModeMs: 0, retentionDays: null, createdAt: '2024-01-01T00:00:00.000Z' }, 'a room stored before slow mode has none')
  assert.deepEqual((await store.history('lobby', 10)).map((m) => m.text), ['old 1', 'old 2'])
  assert.equal(await store.hasGrant('staff', 'bob'), true)
  assert.deepEqual((await store.listRooms(10)).rooms.map((r) => r.id), ['lobby', 'staff'])
  assert.equal((await store.append('lobby', 'bob', 'new')).message.seq, 3)

  // A second start finds the layout marked and moves nothing, even keys that look old.
  await client.hset('chat:room:late', 'name', 'Late', 'createdAt', '2024-01-03T00:00:00.000Z', 'lastSeq', 0)
  await client.zadd('chat:rooms', 0, 'late')
  const again = (await openEngine(t, redis)).store
  assert.equal(await again.getRoom('late'), undefined)
  assert.equal(await client.exists('chat:room:late'), 1)
})
