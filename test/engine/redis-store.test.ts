import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { Redis } from 'ioredis'
import pino from 'pino'
import { createRedisEngine } from '../../src/engine/redis-engine.ts'
import { NotFoundError, type ChatEngine, type ChatStore, type RoomEvent } from '../../src/engine/types.ts'
import { eventually } from '../helper.ts'
import { startRedis, type RedisServer } from '../redis-helper.ts'

const silent = pino({ level: 'silent' })

/** An engine on the given Redis, closed when the test ends. */
async function openEngine (t: TestContext, redis: RedisServer, defaultHistoryLimit = 1000): Promise<ChatEngine> {
  const engine = await createRedisEngine({ url: redis.url, defaultHistoryLimit, log: silent })
  t.after(async () => {
    await engine.broker.close()
    await engine.store.close()
  })
  return engine
}

/** A store on a fresh redis-server; undefined (test skipped) without one. */
async function openStore (t: TestContext, defaultHistoryLimit = 1000): Promise<ChatStore | undefined> {
  const redis = await startRedis(t)
  return redis === undefined ? undefined : (await openEngine(t, redis, defaultHistoryLimit)).store
}

/** A plain client for looking at what the engine wrote. */
function inspect (t: TestContext, redis: RedisServer): Redis {
  const client = new Redis(redis.url)
  t.after(() => client.disconnect())
  return client
}

async function appendMany (store: ChatStore, room: string, count: number) {
  const messages = []
  for (let i = 1; i <= count; i++) messages.push(await store.append(room, 'alice', `m${i}`))
  return messages
}

const seqs = (messages: { seq: number }[]) => messages.map((m) => m.seq)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

test('a room\'s seq starts at 1 and the stored message is what append resolved with', async (t) => {
  const store = await openStore(t)
  if (store === undefined) return
  await store.createRoom({ id: 'lobby' })
  assert.equal(await store.latestSeq('lobby'), 0)
  const first = await store.append('lobby', 'alice', 'hello "quoted" \\ \u00e9\u{1F600}\n')
  assert.equal(first.seq, 1)
  assert.equal(first.room, 'lobby')
  assert.equal(first.user, 'alice')
  assert.equal(first.text, 'hello "quoted" \\ \u00e9\u{1F600}\n')
  assert.equal(new Date(first.time).toISOString(), first.time)
  const second = await store.append('lobby', 'bob', 'hi')
  assert.equal(second.seq, 2)
  assert.notEqual(second.id, first.id)
  assert.equal(await store.latestSeq('lobby'), 2)
  assert.deepEqual(await store.history('lobby', 50), [first, second])
})

test('300 concurrent appends to several rooms get gap-free, unique seqs in each room', async (t) => {
  const store = await openStore(t)
  if (store === undefined) return
  const rooms = ['r1', 'r2', 'r3', 'r4']
  for (const id of rooms) await store.createRoom({ id })
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) => {
    const room = rooms[i % rooms.length]!
    return store.append(room, `u${i % 7}`, `text ${i}`)
  }))
  assert.equal(new Set(results.map((m) => m.id)).size, 300, 'every id is unique')
  for (const room of rooms) {
    const mine = results.filter((m) => m.room === room)
    assert.deepEqual(seqs(mine), range(1, mine.length), `room ${room}: seq follows call order, 1..n`)
    assert.equal(await store.latestSeq(room), mine.length)
    assert.deepEqual(await store.history(room, 100), mine, `room ${room} stored exactly what was acknowledged`)
  }
})

test('two engines appending to one room share one gap-free seq', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const a = (await openEngine(t, redis)).store
  const b = (await openEngine(t, redis)).store
  await a.createRoom({ id: 'shared' })
  const pending = []
  for (let i = 0; i < 100; i++) pending.push((i % 2 === 0 ? a : b).append('shared', 'u', String(i)))
  const results = await Promise.all(pending)
  assert.deepEqual(seqs(results).sort((x, y) => x - y), range(1, 100))
  assert.deepEqual(seqs(await b.history('shared', 100)), range(1, 100))
})

test('a room keeps exactly its newest historyLimit messages, within a batch too', async (t) => {
  const store = await openStore(t, 5)
  if (store === undefined) return
  await store.createRoom({ id: 'small', historyLimit: 3 })
  await store.createRoom({ id: 'default' })
  await appendMany(store, 'small', 10)
  await appendMany(store, 'default', 8)
  assert.deepEqual(seqs(await store.history('small', 100)), [8, 9, 10])
  assert.deepEqual(seqs(await store.history('default', 100)), [4, 5, 6, 7, 8], 'the default limit applies')
  assert.equal(await store.latestSeq('small'), 10, 'trimming does not reset seq')
  assert.equal((await store.append('small', 'u', 'next')).seq, 11)

  await store.createRoom({ id: 'burst', historyLimit: 4 })
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.append('burst', 'u', String(i))))
  assert.deepEqual(seqs(await store.history('burst', 100)), [17, 18, 19, 20])
})

test('lowering historyLimit trims at once; null returns to the default', async (t) => {
  const store = await openStore(t, 6)
  if (store === undefined) return
  await store.createRoom({ id: 'room' })
  await appendMany(store, 'room', 10)
  assert.deepEqual(seqs(await store.history('room', 100)), [5, 6, 7, 8, 9, 10])
  const updated = await store.updateRoom('room', { historyLimit: 2 })
  assert.equal(updated?.historyLimit, 2)
  assert.deepEqual(seqs(await store.history('room', 100)), [9, 10])
  const reset = await store.updateRoom('room', { historyLimit: null })
  assert.equal(reset?.historyLimit, null)
  await appendMany(store, 'room', 6)
  assert.deepEqual(seqs(await store.history('room', 100)), [11, 12, 13, 14, 15, 16])
})

test('history: newest `limit` messages, or those below `before`, always ascending', async (t) => {
  const store = await openStore(t)
  if (store === undefined) return
  await store.createRoom({ id: 'h' })
  await appendMany(store, 'h', 12)
  assert.deepEqual(seqs(await store.history('h', 5)), [8, 9, 10, 11, 12])
  assert.deepEqual(seqs(await store.history('h', 50)), range(1, 12))
  assert.deepEqual(seqs(await store.history('h', 3, 8)), [5, 6, 7])
  assert.deepEqual(seqs(await store.history('h', 10, 4)), [1, 2, 3])
  assert.deepEqual(seqs(await store.history('h', 10, 1)), [])
  assert.deepEqual(seqs(await store.history('h', 2, 100)), [11, 12], 'before past the end means the newest')
  assert.deepEqual(await store.history('empty-or-missing', 10), [])
  const seen: number[] = []
  let before: number | undefined
  for (let page = 0; page < 10; page++) {
    const messages = await store.history('h', 5, before)
    if (messages.length === 0) break
    seen.unshift(...seqs(messages))
    before = messages[0]!.seq
  }
  assert.deepEqual(seen, range(1, 12), 'paging backwards visits every message once')
})

test('recover: messages after since, latestSeq, and whether history reached back', async (t) => {
  const store = await openStore(t)
  if (store === undefined) return
  await store.createRoom({ id: 'rec', historyLimit: 5 })
  await store.createRoom({ id: 'quiet' })
  assert.deepEqual(await store.recover('quiet', 0), { latestSeq: 0, messages: [], recovered: true })

  await appendMany(store, 'rec', 8) // keeps 4..8
  const full = await store.recover('rec', 5)
  assert.equal(full.latestSeq, 8)
  assert.equal(full.recovered, true)
  assert.deepEqual(seqs(full.messages), [6, 7, 8])
  assert.deepEqual(full.messages, (await store.history('rec', 3)), 'the same objects as history')

  const edge = await store.recover('rec', 3)
  assert.equal(edge.recovered, true, 'the oldest kept message is since + 1')
  assert.deepEqual(seqs(edge.messages), [4, 5, 6, 7, 8])

  const gap = await store.recover('rec', 1)
  assert.equal(gap.recovered, false, 'messages 2 and 3 were trimmed')
  assert.equal(gap.latestSeq, 8)
  assert.deepEqual(seqs(gap.messages), [4, 5, 6, 7, 8])

  assert.deepEqual(await store.recover('rec', 8), { latestSeq: 8, messages: [], recovered: true })
  assert.deepEqual(await store.recover('rec', 20), { latestSeq: 8, messages: [], recovered: false },
    'a since beyond the room\'s seq cannot be honoured')
  assert.deepEqual(await store.recover('missing', 3), { latestSeq: 0, messages: [], recovered: false })
  assert.deepEqual(await store.recover('missing', 0), { latestSeq: 0, messages: [], recovered: true })
})

test('rooms: create, conflict, get, list by id with paging, update, delete', async (t) => {
  const store = await openStore(t)
  if (store === undefined) return
  const created = await store.createRoom({ id: 'b-room', name: 'B', private: true, historyLimit: 10 })
  assert.deepEqual(created, { id: 'b-room', name: 'B', private: true, historyLimit: 10, createdAt: created!.createdAt })
  assert.equal(new Date(created!.createdAt).toISOString(), created!.createdAt)
  assert.equal(await store.createRoom({ id: 'b-room', name: 'again' }), undefined, 'an existing id is not replaced')
  assert.deepEqual(await store.getRoom('b-room'), created)

  const plain = await store.createRoom({ id: 'a-room' })
  assert.deepEqual(plain, { id: 'a-room', name: 'a-room', private: false, historyLimit: null, createdAt: plain!.createdAt })
  assert.deepEqual(await store.getRoom('a-room'), plain)
  assert.equal(await store.getRoom('none'), undefined)

  await store.createRoom({ id: 'c-room' })
  await store.createRoom({ id: 'B-upper' })
  const first = await store.listRooms(2)
  assert.deepEqual(first.rooms.map((r) => r.id), ['B-upper', 'a-room'], 'ordered by id, bytewise as in SQLite')
  assert.equal(first.hasMore, true)
  const second = await store.listRooms(2, 'a-room')
  assert.deepEqual(second.rooms.map((r) => r.id), ['b-room', 'c-room'])
  assert.equal(second.hasMore, false, 'no more when the page holds exactly the rest')
  assert.deepEqual((await store.listRooms(5, 'c-room')).rooms, [])

  const updated = await store.updateRoom('a-room', { name: 'Renamed', private: true })
  assert.deepEqual(updated, { ...plain, name: 'Renamed', private: true })
  assert.deepEqual(await store.getRoom('a-room'), updated)
  assert.deepEqual(await store.updateRoom('a-room', {}), updated)
  assert.deepEqual(await store.updateRoom('a-room', { private: false }), { ...updated, private: false })
  assert.equal(await store.updateRoom('none', { name: 'x' }), undefined)
  assert.equal(await store.getRoom('none'), undefined, 'updating a missing room does not create it')

  assert.equal(await store.deleteRoom('a-room'), true)
  assert.equal(await store.deleteRoom('a-room'), false)
  assert.equal(await store.getRoom('a-room'), undefined)
  assert.deepEqual((await store.listRooms(10)).rooms.map((r) => r.id), ['B-upper', 'b-room', 'c-room'])
})

test('deleting a room removes every key of it; recreating starts at seq 1', async (t) => {
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
  assert.deepEqual(await store.history('gone', 10), [])
  await store.createRoom({ id: 'gone' })
  assert.equal(await store.hasGrant('gone', 'alice'), false)
  assert.equal(await store.latestSeq('gone'), 0)
  assert.equal((await store.append('gone', 'u', 'again')).seq, 1)
})

test('grants: set is idempotent, delete revokes, per room and per user', async (t) => {
  const store = await openStore(t)
  if (store === undefined) return
  await store.createRoom({ id: 'vip', private: true })
  await store.createRoom({ id: 'other', private: true })
  assert.equal(await store.hasGrant('vip', 'alice'), false)
  await store.setGrant('vip', 'alice')
  await store.setGrant('vip', 'alice')
  assert.equal(await store.hasGrant('vip', 'alice'), true)
  assert.equal(await store.hasGrant('vip', 'bob'), false)
  assert.equal(await store.hasGrant('other', 'alice'), false)
  await store.deleteGrant('vip', 'alice')
  assert.equal(await store.hasGrant('vip', 'alice'), false)
  await store.deleteGrant('vip', 'alice')
  await assert.rejects(store.setGrant('no-such-room', 'alice'), NotFoundError, 'a grant needs an existing room')
  assert.equal(await store.hasGrant('no-such-room', 'alice'), false)
})

test('append to a missing or deleted room rejects with NotFoundError; other appends in the batch succeed', async (t) => {
  const store = await openStore(t)
  if (store === undefined) return
  await assert.rejects(store.append('never', 'u', 'x'), NotFoundError)
  await store.createRoom({ id: 'doomed' })
  await store.createRoom({ id: 'fine' })
  await store.append('doomed', 'u', 'before')
  await store.deleteRoom('doomed')
  await assert.rejects(store.append('doomed', 'u', 'after'), NotFoundError)

  await store.createRoom({ id: 'doomed' })
  const racing = store.append('doomed', 'u', 'queued before the delete')
  const neighbour = store.append('fine', 'u', 'same batch')
  await store.deleteRoom('doomed')
  await assert.rejects(racing, NotFoundError)
  assert.equal((await neighbour).seq, 1)
  assert.equal(await store.getRoom('doomed'), undefined, 'a failed append does not bring the room back')
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
  const messages = await Promise.all([1, 2, 3].map((i) => engine.store.append('live', 'u', `m${i}`)))
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
  const pending = first.store.append('kept', 'u', 'flushed by close')
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
  assert.equal((await second.append('kept', 'bob', 'after restart')).seq, 8)
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
