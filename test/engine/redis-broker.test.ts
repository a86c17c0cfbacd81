import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { Redis } from 'ioredis'
import pino from 'pino'
import { createRedisEngine, type RedisEngineOptions } from '../../src/engine/redis-engine.ts'
import type { ChatEngine, RoomEvent } from '../../src/engine/types.ts'
import { eventually } from '../helper.ts'
import { startRedis, type RedisServer } from '../redis-helper.ts'

const silent = pino({ level: 'silent' })

async function openEngine (t: TestContext, redis: RedisServer, options: Partial<RedisEngineOptions> = {}): Promise<ChatEngine> {
  const engine = await createRedisEngine({ url: redis.url, defaultHistoryLimit: 100, log: silent, ...options })
  t.after(async () => {
    await engine.broker.close()
    await engine.store.close()
  })
  return engine
}

function inspect (t: TestContext, redis: RedisServer): Redis {
  const client = new Redis(redis.url)
  t.after(() => client.disconnect())
  return client
}

function record (engine: ChatEngine): RoomEvent[] {
  const events: RoomEvent[] = []
  engine.broker.subscribe((event) => events.push(event))
  return events
}

const presenceOf = (events: RoomEvent[], event: 'join' | 'leave') =>
  events.flatMap((e) => (e.kind === 'presence' && e.event === event ? [`${e.room}/${e.user}`] : []))

const byUser = (a: { user: string }, b: { user: string }) => a.user.localeCompare(b.user)

test('presence counts connections of a user over every node: first and last are reported once', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const a = (await openEngine(t, redis)).broker
  const b = (await openEngine(t, redis)).broker
  assert.equal(await a.presenceAdd('room', 'alice', 'c1'), true, 'the first connection')
  assert.equal(await b.presenceAdd('room', 'alice', 'c2'), false, 'a second one, on another node')
  assert.equal(await a.presenceAdd('room', 'alice', 'c1'), false, 'counting the same connection twice changes nothing')
  assert.equal(await b.presenceAdd('room', 'bob', 'c3'), true)
  assert.equal(await a.presenceAdd('other', 'alice', 'c1'), true, 'presence is per room')
  assert.deepEqual((await a.online('room')).sort(byUser), [{ user: 'alice', connections: 2 }, { user: 'bob', connections: 1 }])
  assert.deepEqual((await b.online('room')).sort(byUser), (await a.online('room')).sort(byUser), 'both nodes agree')
  assert.equal(await a.presenceRemove('room', 'alice', 'c1'), false)
  assert.equal(await a.presenceRemove('room', 'alice', 'c1'), false, 'removing twice changes nothing')
  assert.deepEqual((await b.online('room')).sort(byUser), [{ user: 'alice', connections: 1 }, { user: 'bob', connections: 1 }])
  assert.equal(await b.presenceRemove('room', 'alice', 'c2'), true, 'the last connection')
  assert.deepEqual(await a.online('room'), [{ user: 'bob', connections: 1 }])
  await a.presenceClear('room')
  assert.deepEqual(await b.online('room'), [])
  assert.equal(await b.presenceRemove('room', 'bob', 'c3'), false, 'a cleared room has no one left to leave')
  assert.deepEqual(await b.online('room'), [], 'and no count goes below zero')
  assert.deepEqual(await a.online('other'), [{ user: 'alice', connections: 1 }])
})

test('events reach every node once, the publishing node included', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const a = await openEngine(t, redis)
  const b = await openEngine(t, redis)
  const onA = record(a)
  const onB = record(b)
  const sent: RoomEvent[] = [
    { kind: 'presence', room: 'r', event: 'join', user: 'alice', time: new Date().toISOString() },
    { kind: 'kick', room: 'r', user: 'bob', reason: 'access revoked' },
    { kind: 'room_deleted', room: 'r' }
  ]
  for (const event of sent) a.broker.publish(event)
  await eventually(() => onA.length >= 3 && onB.length >= 3, 5000, 'events on both nodes')
  assert.deepEqual(onA, sent)
  assert.deepEqual(onB, sent)
})

test('a malformed event on the channel is ignored and later events still arrive', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const engine = await openEngine(t, redis)
  const events = record(engine)
  const client = inspect(t, redis)
  await client.publish('chat:events', 'not json')
  await client.publish('chat:events', JSON.stringify({ kind: 'kick', room: 'bad room id!', user: 'u', reason: 'x' }))
  await client.publish('chat:events', JSON.stringify({ kind: 'room_deleted', room: 'fine' }))
  await eventually(() => events.length > 0, 5000, 'the valid event')
  assert.deepEqual(events, [{ kind: 'room_deleted', room: 'fine' }])
})

test('a dead node\'s connections are uncounted and its users announced as leaving', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const client = inspect(t, redis)
  const engine = await openEngine(t, redis, { heartbeatMs: 100, staleMs: 1000 })
  const events = record(engine)
  // A node that stopped sending heartbeats long ago, with alice (twice) and bob in a room;
  // alice also has a connection on a live node, carol only on the dead one in another room.
  await client.multi()
    .sadd('chat:node:dead-node:presence', 'room\u0000alice\u0000c1', 'room\u0000alice\u0000c2',
      'room\u0000bob\u0000c3', 'side\u0000carol\u0000c4')
    .hset('chat:presence:room', 'alice', 3, 'bob', 1)
    .hset('chat:presence:side', 'carol', 1)
    .sadd('chat:node:live-node:presence', 'room\u0000alice\u0000c5')
    .zadd('chat:nodes', 0, 'dead-node')
    .exec()
  await eventually(async () => (await client.zscore('chat:nodes', 'dead-node')) === null, 10_000, 'cleanup')
  await eventually(() => presenceOf(events, 'leave').length >= 2, 5000, 'leave events')
  assert.deepEqual(presenceOf(events, 'leave').sort(), ['room/bob', 'side/carol'])
  assert.deepEqual(await engine.broker.online('room'), [{ user: 'alice', connections: 1 }])
  assert.deepEqual(await engine.broker.online('side'), [])
  assert.equal(await client.exists('chat:node:dead-node:presence'), 0)
  assert.equal(await client.zcard('chat:nodes'), 1, 'only the live engine is registered')
})

test('a node taken for dead counts its connections back in when it heartbeats again', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const client = inspect(t, redis)
  const slow = await openEngine(t, redis, { nodeId: 'slow-node', heartbeatMs: 300, staleMs: 60_000 })
  const watcher = await openEngine(t, redis, { heartbeatMs: 50, staleMs: 1000 })
  const events = record(watcher)
  assert.equal(await slow.broker.presenceAdd('room', 'alice', 'c1'), true)
  await eventually(async () => (await client.zscore('chat:nodes', 'slow-node')) !== null, 5000, 'slow-node registered')

  // Make its last heartbeat look old until the watcher has cleaned it up.
  await eventually(async () => {
    await client.zadd('chat:nodes', 0, 'slow-node')
    await new Promise((resolve) => setTimeout(resolve, 100))
    return presenceOf(events, 'leave').includes('room/alice')
  }, 10_000, 'slow-node cleaned up')
  // Its next heartbeat finds it unregistered and brings alice back.
  await eventually(() => presenceOf(events, 'join').includes('room/alice'), 5000, 'alice rejoins')
  assert.deepEqual(await watcher.broker.online('room'), [{ user: 'alice', connections: 1 }])
  assert.equal(await slow.broker.presenceRemove('room', 'alice', 'c1'), true, 'and her last connection can leave normally')
  assert.deepEqual(await watcher.broker.online('room'), [])
})

test('room_deleted makes every node forget its presence entries of the room', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const client = inspect(t, redis)
  const a = await openEngine(t, redis, { nodeId: 'node-a' })
  const b = await openEngine(t, redis, { nodeId: 'node-b' })
  const onB = record(b)
  await a.broker.presenceAdd('doomed', 'alice', 'c1')
  await b.broker.presenceAdd('doomed', 'bob', 'c2')
  await b.broker.presenceAdd('kept', 'bob', 'c2')
  await a.broker.presenceClear('doomed')
  // A join that raced the deletion counted bob again after the clear.
  await client.hset('chat:presence:doomed', 'bob', 1)
  a.broker.publish({ kind: 'room_deleted', room: 'doomed' })
  await eventually(() => onB.length > 0, 5000, 'room_deleted on b')
  await eventually(async () => (await client.exists('chat:presence:doomed')) === 0 &&
    (await client.scard('chat:node:node-a:presence')) === 0, 5000, 'presence of the deleted room gone')
  assert.deepEqual(await client.smembers('chat:node:node-b:presence'), ['kept\u0000bob\u0000c2'])
})

test('close() uncounts the connections a node still holds, announces the leaves and deregisters it', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const client = inspect(t, redis)
  const watcher = await openEngine(t, redis)
  const events = record(watcher)
  const leaving = await createRedisEngine({ url: redis.url, defaultHistoryLimit: 100, log: silent, nodeId: 'leaving-node' })
  await leaving.broker.presenceAdd('room', 'alice', 'c1')
  await watcher.broker.presenceAdd('room', 'bob', 'c2')
  await eventually(async () => (await client.zscore('chat:nodes', 'leaving-node')) !== null, 5000, 'registered')
  await leaving.broker.close()
  await leaving.store.close()
  assert.equal(await leaving.broker.presenceRemove('room', 'alice', 'c1'), false, 'after close, nothing is left to remove')
  assert.equal(await client.zscore('chat:nodes', 'leaving-node'), null)
  assert.equal(await client.exists('chat:node:leaving-node:presence'), 0)
  assert.deepEqual(await watcher.broker.online('room'), [{ user: 'bob', connections: 1 }])
  await eventually(() => presenceOf(events, 'leave').includes('room/alice'), 5000, 'leave of alice')
})
