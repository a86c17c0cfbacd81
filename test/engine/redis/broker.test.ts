import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import type { Cluster, Redis } from 'ioredis'
import pino from 'pino'
import { createRedisEngine, type RedisEngineOptions } from '../../../src/engine/redis/engine.ts'
import { partitionKeys, presenceEntry, roomKeys } from '../../../src/engine/redis/keys.ts'
import type { ChatEngine, RoomEvent } from '../../../src/engine/types.ts'
import { eventually } from '../../helper.ts'
import { layoutTest, type RedisTarget } from '../../redis-layouts.ts'

const silent = pino({ level: 'silent' })

async function openEngine (t: TestContext, redis: RedisTarget, options: Partial<RedisEngineOptions> = {}): Promise<ChatEngine> {
  const engine = await createRedisEngine({ url: redis.url, cluster: redis.cluster, defaultHistoryLimit: 100, log: silent, ...options })
  t.after(async () => {
    await engine.broker.close()
    await engine.store.close()
  })
  return engine
}

function record (engine: ChatEngine): RoomEvent[] {
  const events: RoomEvent[] = []
  engine.broker.subscribe((event) => events.push(event))
  return events
}

const presenceOf = (events: RoomEvent[], event: 'join' | 'leave') =>
  events.flatMap((e) => (e.kind === 'presence' && e.event === event ? [`${e.room}/${e.user}`] : []))

const byUser = (a: { user: string }, b: { user: string }) => a.user.localeCompare(b.user)

/** The node's presence set for the room's partition. */
const nodeSet = (room: string, owner: string) => partitionKeys(roomKeys(room).partition).nodePresence(owner)

/** PUBLISH on a single Redis, SPUBLISH on a cluster: how the engine publishes a room's events. */
const publish = (redis: RedisTarget, client: Redis | Cluster, channel: string, text: string) =>
  redis.cluster ? client.spublish(channel, text) : client.publish(channel, text)

/** How many times the primaries ran a command (INFO commandstats). */
async function calls (redis: RedisTarget, command: string): Promise<number> {
  let total = 0
  for (const node of redis.primaries()) {
    const stats = await node.info('commandstats')
    total += Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0)
  }
  return total
}

layoutTest('presence counts connections of a user over every node: first and last are reported once', async (t, redis) => {
  const a = await openEngine(t, redis)
  const b = await openEngine(t, redis)
  for (const id of ['room', 'other']) await a.store.createRoom({ id })
  assert.equal(await a.broker.presenceAdd('room', 'alice', 'c1'), true, 'the first connection')
  assert.equal(await b.broker.presenceAdd('room', 'alice', 'c2'), false, 'a second one, on another node')
  assert.equal(await a.broker.presenceAdd('room', 'alice', 'c1'), false, 'counting the same connection twice changes nothing')
  assert.equal(await b.broker.presenceAdd('room', 'bob', 'c3'), true)
  assert.equal(await a.broker.presenceAdd('other', 'alice', 'c1'), true, 'presence is per room')
  assert.deepEqual((await a.broker.online('room')).sort(byUser), [{ user: 'alice', connections: 2 }, { user: 'bob', connections: 1 }])
  assert.deepEqual((await b.broker.online('room')).sort(byUser), (await a.broker.online('room')).sort(byUser), 'both nodes agree')
  assert.equal(await a.broker.presenceRemove('room', 'alice', 'c1'), false)
  assert.equal(await a.broker.presenceRemove('room', 'alice', 'c1'), false, 'removing twice changes nothing')
  assert.deepEqual((await b.broker.online('room')).sort(byUser), [{ user: 'alice', connections: 1 }, { user: 'bob', connections: 1 }])
  assert.equal(await b.broker.presenceRemove('room', 'alice', 'c2'), true, 'the last connection')
  assert.deepEqual(await a.broker.online('room'), [{ user: 'bob', connections: 1 }])
  await a.broker.presenceClear('room')
  assert.deepEqual(await b.broker.online('room'), [])
  assert.equal(await b.broker.presenceRemove('room', 'bob', 'c3'), false, 'a cleared room has no one left to leave')
  assert.deepEqual(await b.broker.online('room'), [], 'and no count goes below zero')
  assert.deepEqual(await a.broker.online('other'), [{ user: 'alice', connections: 1 }])
})

layoutTest('a room\'s events reach every node with a member in it once, the publishing node included, and no other', async (t, redis) => {
  const a = await openEngine(t, redis)
  const b = await openEngine(t, redis)
  const idle = await openEngine(t, redis)
  await a.store.createRoom({ id: 'r' })
  await a.broker.presenceAdd('r', 'alice', 'c1')
  await b.broker.presenceAdd('r', 'bob', 'c2')
  const onA = record(a)
  const onB = record(b)
  const onIdle = record(idle)
  const sent: RoomEvent[] = [
    { kind: 'presence', room: 'r', event: 'join', user: 'alice', time: new Date().toISOString() },
    { kind: 'kick', room: 'r', user: 'bob', reason: 'access revoked' },
    { kind: 'room_deleted', room: 'r' }
  ]
  for (const event of sent) a.broker.publish(event)
  await eventually(() => onA.length >= 3 && onB.length >= 3, 5000, 'events on both nodes')
  assert.deepEqual(onA, sent)
  assert.deepEqual(onB, sent)
  assert.deepEqual(onIdle, [], 'a node without members in the room hears nothing of it')
})

layoutTest('a malformed event on a room\'s channel is ignored and later events still arrive', async (t, redis) => {
  const engine = await openEngine(t, redis)
  await engine.store.createRoom({ id: 'fine' })
  await engine.broker.presenceAdd('fine', 'alice', 'c1')
  const events = record(engine)
  const client = redis.inspect(t)
  const channel = roomKeys('fine').channel
  await publish(redis, client, channel, 'not json')
  await publish(redis, client, channel, JSON.stringify({ kind: 'kick', room: 'bad room id!', user: 'u', reason: 'x' }))
  await publish(redis, client, channel, JSON.stringify({ kind: 'room_deleted', room: 'other-room' }))
  // Message events, read by their own path: a broken message, one without a usable seq, one of another room.
  const message = { room: 'fine', seq: 1, id: 'm1', user: 'alice', text: 'hi', time: new Date().toISOString() }
  await publish(redis, client, channel, '{"kind":"message","message":{"room":"fine","seq":1,}')
  await publish(redis, client, channel, JSON.stringify({ kind: 'message', message: { ...message, seq: '1' } }))
  await publish(redis, client, channel, JSON.stringify({ kind: 'message', message: { ...message, room: 'other-room' } }))
  await publish(redis, client, channel, JSON.stringify({ kind: 'room_deleted', room: 'fine' }))
  await eventually(() => events.length > 0, 5000, 'the valid event')
  assert.deepEqual(events, [{ kind: 'room_deleted', room: 'fine' }], 'an event of another room on this channel is ignored too')
})

layoutTest('a node subscribes to a room when its first member joins, in batches, and unsubscribes after the last left', async (t, redis) => {
  const engine = await openEngine(t, redis, { lingerMs: 100 })
  const rooms = Array.from({ length: 200 }, (_, i) => `storm-${i}`)
  for (const id of rooms) await engine.store.createRoom({ id })
  const command = redis.cluster ? 'ssubscribe' : 'subscribe'
  const before = await calls(redis, command)
  // A join storm: 400 connections in 200 rooms within one turn of the event loop.
  await Promise.all(rooms.flatMap((id) => [
    engine.broker.presenceAdd(id, 'alice', `a-${id}`), engine.broker.presenceAdd(id, 'bob', `b-${id}`)
  ]))
  const subscribes = await calls(redis, command) - before
  const slots = new Set(rooms.map((id) => roomKeys(id).partition)).size
  assert.ok(subscribes >= 1 && subscribes <= (redis.cluster ? slots : 1),
    `${subscribes} ${command} commands for ${rooms.length} rooms in ${slots} partitions`)
  const channels = async () => {
    const lists = await Promise.all(redis.primaries().map((node) =>
      redis.cluster ? node.call('PUBSUB', 'SHARDCHANNELS', 'chat:*') : node.pubsub('CHANNELS', 'chat:*')))
    return (lists.flat() as string[]).filter((channel) => channel.includes(':events:storm-'))
  }
  assert.equal((await channels()).length, 200)

  for (const id of rooms.slice(0, 150)) await engine.broker.presenceRemove(id, 'alice', `a-${id}`)
  assert.equal((await channels()).length, 200, 'rooms with a member left stay subscribed')
  await Promise.all(rooms.slice(0, 150).map((id) => engine.broker.presenceRemove(id, 'bob', `b-${id}`)))
  await eventually(async () => (await channels()).length === 50, 5000, 'the 150 empty rooms unsubscribed')
  assert.deepEqual((await channels()).sort(), rooms.slice(150).map((id) => roomKeys(id).channel).sort())
})

layoutTest('a dead node\'s connections are uncounted and its users announced as leaving', async (t, redis) => {
  const client = redis.inspect(t)
  const engine = await openEngine(t, redis, { heartbeatMs: 100, staleMs: 1000 })
  for (const id of ['room', 'side']) await engine.store.createRoom({ id })
  await engine.broker.presenceAdd('room', 'watcher', 'w1')
  await engine.broker.presenceAdd('side', 'watcher', 'w2')
  const events = record(engine)
  // A node that stopped sending heartbeats long ago, with alice (twice) and bob in a room;
  // alice also has a connection on a live node, carol only on the dead one in another room.
  await client.sadd(nodeSet('room', 'dead-node'), presenceEntry('room', 'alice', 'c1'), presenceEntry('room', 'alice', 'c2'),
    presenceEntry('room', 'bob', 'c3'))
  await client.sadd(nodeSet('side', 'dead-node'), presenceEntry('side', 'carol', 'c4'))
  await client.hset(roomKeys('room').presence, 'alice', 3, 'bob', 1)
  await client.hincrby(roomKeys('side').presence, 'carol', 1)
  await client.sadd(nodeSet('room', 'live-node'), presenceEntry('room', 'alice', 'c5'))
  await client.zadd('chat:nodes', 1, 'dead-node')
  await eventually(async () => (await client.zscore('chat:nodes', 'dead-node')) === null, 10_000, 'cleanup')
  await eventually(() => presenceOf(events, 'leave').length >= 2, 5000, 'leave events')
  assert.deepEqual(presenceOf(events, 'leave').sort(), ['room/bob', 'side/carol'])
  assert.deepEqual((await engine.broker.online('room')).sort(byUser), [{ user: 'alice', connections: 1 }, { user: 'watcher', connections: 1 }])
  assert.deepEqual(await engine.broker.online('side'), [{ user: 'watcher', connections: 1 }])
  assert.deepEqual(await redis.keys('*dead-node*'), [])
  assert.equal(await client.zcard('chat:nodes'), 1, 'only the live engine is registered')
})

layoutTest('a node taken for dead counts its connections back in as soon as it hears of it', async (t, redis) => {
  const client = redis.inspect(t)
  // Its own heartbeat would come only after a minute: it learns it was cleaned up from the node channel.
  const slow = await openEngine(t, redis, { nodeId: 'slow-node', heartbeatMs: 60_000, staleMs: 60_000 })
  const watcher = await openEngine(t, redis, { heartbeatMs: 50, staleMs: 1000 })
  await slow.store.createRoom({ id: 'room' })
  await watcher.broker.presenceAdd('room', 'watcher', 'w1')
  const events = record(watcher)
  assert.equal(await slow.broker.presenceAdd('room', 'alice', 'c1'), true)
  await eventually(async () => (await client.zscore('chat:nodes', 'slow-node')) !== null, 5000, 'slow-node registered')

  // Make its last heartbeat look old: the watcher claims it and removes its presence.
  await client.zadd('chat:nodes', 1, 'slow-node')
  await eventually(() => presenceOf(events, 'leave').includes('room/alice'), 10_000, 'slow-node cleaned up')
  // It learns it was taken for dead and brings alice back, under a new owner name.
  await eventually(() => presenceOf(events, 'join').includes('room/alice'), 5000, 'alice rejoins')
  assert.deepEqual((await watcher.broker.online('room')).sort(byUser), [{ user: 'alice', connections: 1 }, { user: 'watcher', connections: 1 }])
  assert.deepEqual(await client.zrange('chat:nodes', 0, -1).then((ids) => ids.filter((id) => id.startsWith('slow-node'))), ['slow-node~1'])
  assert.equal(await slow.broker.presenceRemove('room', 'alice', 'c1'), true, 'and her last connection can leave normally')
  assert.deepEqual(await watcher.broker.online('room'), [{ user: 'watcher', connections: 1 }])
})

layoutTest('room_deleted makes every node forget its presence entries of the room', async (t, redis) => {
  const client = redis.inspect(t)
  const a = await openEngine(t, redis, { nodeId: 'node-a' })
  const b = await openEngine(t, redis, { nodeId: 'node-b' })
  for (const id of ['doomed', 'kept']) await a.store.createRoom({ id })
  const onB = record(b)
  await a.broker.presenceAdd('doomed', 'alice', 'c1')
  await b.broker.presenceAdd('doomed', 'bob', 'c2')
  await b.broker.presenceAdd('kept', 'bob', 'c2')
  await a.broker.presenceClear('doomed')
  // A join that raced the deletion counted bob again after the clear.
  await client.hset(roomKeys('doomed').presence, 'bob', 1)
  a.broker.publish({ kind: 'room_deleted', room: 'doomed' })
  await eventually(() => onB.length > 0, 5000, 'room_deleted on b')
  await eventually(async () => (await client.exists(roomKeys('doomed').presence)) === 0 &&
    (await client.scard(nodeSet('doomed', 'node-a'))) === 0, 5000, 'presence of the deleted room gone')
  const kept = presenceEntry('kept', 'bob', 'c2')
  const left = nodeSet('doomed', 'node-b') === nodeSet('kept', 'node-b') ? [kept] : []
  assert.deepEqual(await client.smembers(nodeSet('doomed', 'node-b')), left)
  assert.deepEqual(await client.smembers(nodeSet('kept', 'node-b')), [kept])
})

layoutTest('close() uncounts the connections a node still holds, announces the leaves and deregisters it', async (t, redis) => {
  const client = redis.inspect(t)
  const watcher = await openEngine(t, redis)
  await watcher.store.createRoom({ id: 'room' })
  const events = record(watcher)
  const leaving = await createRedisEngine({ url: redis.url, cluster: redis.cluster, defaultHistoryLimit: 100, log: silent, nodeId: 'leaving-node' })
  await leaving.broker.presenceAdd('room', 'alice', 'c1')
  await watcher.broker.presenceAdd('room', 'bob', 'c2')
  await eventually(async () => (await client.zscore('chat:nodes', 'leaving-node')) !== null, 5000, 'registered')
  await leaving.broker.close()
  await leaving.store.close()
  assert.equal(await leaving.broker.presenceRemove('room', 'alice', 'c1'), false, 'after close, nothing is left to remove')
  assert.equal(await client.zscore('chat:nodes', 'leaving-node'), null)
  assert.deepEqual(await redis.keys('*leaving-node*'), [])
  assert.deepEqual(await watcher.broker.online('room'), [{ user: 'bob', connections: 1 }])
  await eventually(() => presenceOf(events, 'leave').includes('room/alice'), 5000, 'leave of alice')
})
