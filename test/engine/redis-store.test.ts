import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { Redis } from 'ioredis'
import pino from 'pino'
import { createRedisEngine } from '../../src/engine/redis-engine.ts'
import { type ChatEngine, type ChatStore, type RoomEvent } from '../../src/engine/types.ts'
import { eventually } from '../helper.ts'
import { startRedis, type RedisServer } from '../redis-helper.ts'
import { appendMany, range, seqs, storeContract, type StoreOptions } from '../storage/store-contract.ts'

const silent = pino({ level: 'silent' })

/** An engine on the given Redis, closed when the test ends. */
async function openEngine (t: TestContext, redis: RedisServer, defaultHistoryLimit = 1000, clientIdTtlMs?: number): Promise<ChatEngine> {
  const engine = await createRedisEngine({ url: redis.url, defaultHistoryLimit, log: silent, clientIdTtlMs })
  t.after(async () => {
    await engine.broker.close()
    await engine.store.close()
  })
  return engine
}

/** A store on a fresh redis-server; undefined (test skipped) without one. */
async function openStore (t: TestContext, options: StoreOptions = {}): Promise<ChatStore | undefined> {
  const redis = await startRedis(t)
  return redis === undefined ? undefined : (await openEngine(t, redis, options.defaultHistoryLimit, options.clientIdTtlMs)).store
}

/** A plain client for looking at what the engine wrote. */
function inspect (t: TestContext, redis: RedisServer): Redis {
  const client = new Redis(redis.url)
  t.after(() => client.disconnect())
  return client
}

storeContract('redis', openStore)

test('two engines appending to one room share one gap-free seq', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const a = (await openEngine(t, redis)).store
  const b = (await openEngine(t, redis)).store
  await a.createRoom({ id: 'shared' })
  const pending = []
  for (let i = 0; i < 100; i++) pending.push((i % 2 === 0 ? a : b).append('shared', 'u', String(i)).then((appended) => appended.message))
  const results = await Promise.all(pending)
  assert.deepEqual(seqs(results).sort((x, y) => x - y), range(1, 100))
  assert.deepEqual(seqs(await b.history('shared', 100)), range(1, 100))
})

test('deleting a room removes every key of it', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const store = (await openEngine(t, redis)).store
  const client = inspect(t, redis)
  await store.createRoom({ id: 'gone' })
  await store.createRoom({ id: 'kept' })
  await appendMany(store, 'gone', 3)
  await store.setGrant('gone', 'alice')
  assert.equal(await store.deleteRoom('gone'), true)
  assert.deepEqual((await client.keys('*gone*')).sort(), [], 'no key of the room is left')
  assert.deepEqual(await client.zrange('chat:rooms', 0, -1), ['kept'])
})

test('a message event reaches the subscribers once, before append resolves', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const engine = await openEngine(t, redis)
  const other = await openEngine(t, redis)
  const here: RoomEvent[] = []
  const there: RoomEvent[] = []
  engine.broker.subscribe((event) => here.push(event))
  other.broker.subscribe((event) => there.push(event))
  await engine.store.createRoom({ id: 'live' })
  const messages = await Promise.all([1, 2, 3].map((i) => engine.store.append('live', 'u', `m${i}`).then((appended) => appended.message)))
  assert.deepEqual(here, messages.map((message) => ({ kind: 'message', message })))
  // publish() of a stored message adds nothing: the append already published it.
  for (const message of messages) engine.broker.publish({ kind: 'message', message })
  engine.broker.publish({ kind: 'room_deleted', room: 'elsewhere' })
  await eventually(() => there.length >= 4 && here.length >= 4, 5000, 'the events on both engines')
  assert.deepEqual(there, [...messages.map((message) => ({ kind: 'message', message })), { kind: 'room_deleted', room: 'elsewhere' }])
  assert.equal(await engine.store.latestSeq('live'), 3)
  assert.equal(here.length, 4, 'the publishing node gets its own event once, through Redis')
})

test('acknowledged messages outlive the engine that wrote them', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const first = await createRedisEngine({ url: redis.url, defaultHistoryLimit: 100, log: silent })
  await first.store.createRoom({ id: 'kept', name: 'Kept', private: true, historyLimit: 4 })
  await first.store.setGrant('kept', 'alice')
  const written = await appendMany(first.store, 'kept', 6)
  const pending = first.store.append('kept', 'u', 'flushed by close').then((appended) => appended.message)
  await first.broker.close()
  await first.store.close()
  assert.equal((await pending).seq, 7, 'a pending append is written before the store closes')
  await assert.rejects(first.store.append('kept', 'u', 'late'))
  await first.store.close()

  const second = (await openEngine(t, redis, 100)).store
  assert.deepEqual(await second.getRoom('kept'), { id: 'kept', name: 'Kept', private: true, historyLimit: 4, createdAt: (await second.getRoom('kept'))!.createdAt })
  assert.equal(await second.hasGrant('kept', 'alice'), true)
  assert.deepEqual(seqs(await second.history('kept', 100)), [4, 5, 6, 7])
  assert.deepEqual((await second.history('kept', 100)).slice(0, 3), written.slice(3))
  assert.equal((await second.append('kept', 'bob', 'after restart')).message.seq, 8)
})

test('a Redis outage makes ready() false and append reject, without hanging', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const engine = await openEngine(t, redis)
  await engine.store.createRoom({ id: 'r' })
  assert.equal(await engine.store.ready(), true)
  assert.equal(await engine.broker.ready(), true)
  await redis.stop(true)
  await assert.rejects(engine.store.append('r', 'u', 'lost'))
  assert.equal(await engine.store.ready(), false)
  assert.equal(await engine.broker.ready(), false)
  await assert.rejects(engine.broker.online('r'))
})
