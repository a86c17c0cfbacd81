import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import calculateSlot from 'cluster-key-slot'
import pino from 'pino'
import { createRedisEngine } from '../../../src/engine/redis/engine.ts'
import { layout2, partitionKeys, roomKey, roomKeys } from '../../../src/engine/redis/keys.ts'
import type { ChatEngine } from '../../../src/engine/types.ts'
import { features } from '../../../src/features/index.ts'
import { layoutTest, type RedisTarget } from '../../redis-layouts.ts'

const silent = pino({ level: 'silent' })
const extensions = features.flatMap((feature) => feature.storage ?? [])

async function openEngine (t: TestContext, redis: RedisTarget, nodeId?: string): Promise<ChatEngine> {
  const engine = await createRedisEngine({ url: redis.url, cluster: redis.cluster, defaultHistoryLimit: 1000, log: silent, nodeId, extensions })
  t.after(async () => {
    await engine.broker.close()
    await engine.store.close()
  })
  return engine
}

const message = (room: string, seq: number) =>
  JSON.stringify({ room, seq, id: `${room}-${seq}`, user: 'alice', text: `old ${seq}`, time: new Date(seq * 1000).toISOString() })
const event = (room: string, n: number) => JSON.stringify({ id: `ev-${room}-${n}`, type: 'message.created', room, data: { n } })

/**
 * Data as layout 2 wrote it: keys `chat:{p<N>}:…` with N = CRC16(room) mod 128. Rooms `a` and
 * `a:b` test the clientId keys, whose room is found by its longest known prefix.
 */
async function writeLayout2 (client: ReturnType<RedisTarget['inspect']>): Promise<void> {
  assert.equal(layout2.roomKeys('lobby').room, `chat:{p${calculateSlot('lobby') % 128}}:room:lobby`, 'the layout 2 names')
  await client.set('chat:layout', '2')
  await client.zadd('chat:rooms', 0, 'lobby', 0, 'staff', 0, 'a', 0, 'a:b')
  for (const room of ['lobby', 'staff', 'a', 'a:b']) {
    const keys = layout2.roomKeys(room)
    await client.hset(keys.room, 'name', room, 'private', room === 'staff' ? '1' : '0', 'historyLimit', '',
      'createdAt', '2025-01-01T00:00:00.000Z', 'lastSeq', 3)
    await client.zadd(keys.messages, 1, message(room, 1), 2, message(room, 2), 3, message(room, 3))
  }
  await client.sadd(layout2.roomKeys('staff').grants, 'bob')
  await client.hset(layout2.roomKeys('lobby').presence, 'alice', 1)
  await client.zadd(layout2.roomKeys('lobby').changes, 3, '2')
  await client.hset(layout2.roomKey('reactions', 'lobby'), '2', JSON.stringify([{ emoji: '👍', users: ['bob'] }]))
  await client.hset(layout2.roomKey('reads', 'lobby'), 'bob', 2)
  await client.set(layout2.roomKeys('lobby').sent('alice', 'c-1'), `3 lobby-3 ${new Date(3000).toISOString()}`, 'PX', 3_600_000)
  await client.set(layout2.roomKeys('a').sent('b:x', 'c-2'), '1 a-1 t', 'PX', 3_600_000)
  await client.set(layout2.roomKeys('a:b').sent('x', 'c-2'), '2 a:b-2 t', 'PX', 3_600_000)
  // A node that ran layout 2 and stopped: its presence entries, to be cleaned up once it is taken for dead.
  await client.zadd('chat:nodes', Date.now(), 'old-node')
  await client.sadd(layout2.partitionKeys(layout2.partitionOf('lobby')).nodePresence('old-node'), 'lobby\u0000alice\u0000c1')
  // The outbox of lobby's partition: a webhook group that finished ev 1, holds ev 2 pending and has not read ev 3.
  const outbox = layout2.partitionKeys(layout2.partitionOf('lobby'))
  for (const n of [1, 2, 3]) await client.xadd(outbox.outbox, '*', 'r', 'lobby', 'e', event('lobby', n))
  await client.xgroup('CREATE', outbox.outbox, 'webhook:abc', '0')
  const read = await client.xreadgroup('GROUP', 'webhook:abc', 'old-node', 'COUNT', 2, 'STREAMS', outbox.outbox, '>') as [string, [string, string[]][]][]
  await client.xack(outbox.outbox, 'webhook:abc', read[0]![1][0]![0])
  await client.set(outbox.hookLease('abc'), 'old-node', 'PX', 60_000)
  await client.hset(outbox.hookAttempts, `abc ${read[0]![1][1]![0]}`, '{"attempts":2}')
  // An event parked for a URL, of room a:b.
  const parked = layout2.partitionKeys(layout2.partitionOf('a:b'))
  await client.hset(parked.hooksFailed, 'ev-parked', JSON.stringify({ id: 'ev-parked', type: 'message.created', room: 'a:b', event: event('a:b', 9), urls: {} }))
  await client.zadd(parked.hooksFailedOrder, 1234, 'ev-parked')
}

layoutTest('data of layout 2 (128 partitions) is moved to the evenly spread partitions at start-up, by one node, once', async (t, redis) => {
  const client = redis.inspect(t)
  await writeLayout2(client)
  const oldKeys = await redis.keys('chat:{p*')
  assert.ok(oldKeys.length >= 20, `layout 2 written: ${oldKeys.length} keys`)

  // Two nodes start at once: one moves the data, the other waits for it.
  const [a, b] = await Promise.all([openEngine(t, redis, 'node-a'), openEngine(t, redis, 'node-b')])
  assert.equal(await client.get('chat:layout'), '3')
  assert.equal(await client.exists('chat:layout-lock'), 0, 'the lock is released')
  assert.deepEqual((await redis.keys('chat:{p*')).filter((key) => /^chat:\{p\d+\}/.test(key)), [], 'no key of layout 2 is left')

  for (const store of [a.store, b.store]) {
    assert.deepEqual((await store.history('lobby', 10)).map((m) => m.text), ['old 1', 'old 2', 'old 3'])
    assert.deepEqual((await store.listRooms(10)).rooms.map((room) => room.id), ['a', 'a:b', 'lobby', 'staff'])
  }
  // The features' keys and the core's, under the room's new tag, unchanged.
  assert.deepEqual(await client.hgetall(roomKey('reactions', 'lobby')), { 2: JSON.stringify([{ emoji: '👍', users: ['bob'] }]) })
  assert.deepEqual(await client.hgetall(roomKey('reads', 'lobby')), { bob: '2' })
  assert.deepEqual(await client.zrange(roomKeys('lobby').changes, 0, -1), ['2'])

  assert.equal(await a.store.hasGrant('staff', 'bob'), true)
  assert.equal((await a.store.append('lobby', 'bob', 'new')).message.seq, 4, 'the seq goes on')
  // The clientId sent before the move is still known: sending it again stores nothing.
  const again = await b.store.append('lobby', 'alice', 'retry', { clientId: 'c-1' })
  assert.equal(again.duplicate, true)
  assert.equal(again.message.seq, 3)
  assert.equal(await client.get(roomKeys('a').sent('b:x', 'c-2')), '1 a-1 t')
  assert.equal(await client.get(roomKeys('a:b').sent('x', 'c-2')), '2 a:b-2 t')
  assert.ok(await client.pttl(roomKeys('a:b').sent('x', 'c-2')) > 3_000_000, 'with its expiry')
  // The old node's presence moved with its room, so the dead-node cleanup still finds it.
  const lobbyPartition = partitionKeys(roomKeys('lobby').partition)
  assert.deepEqual(await client.smembers(lobbyPartition.nodePresence('old-node')), ['lobby\u0000alice\u0000c1'])

  // Events the webhook group had not finished are in lobby's new stream, in order, for the same group.
  const unread = await client.xreadgroup('GROUP', 'webhook:abc', 'check', 'COUNT', 10, 'STREAMS', lobbyPartition.outbox, '>') as [string, [string, string[]][]][]
  assert.deepEqual(unread[0]![1].map(([, fields]) => JSON.parse(fields[3]!).id), ['ev-lobby-2', 'ev-lobby-3'])
  const parked = partitionKeys(roomKeys('a:b').partition)
  assert.equal(JSON.parse((await client.hget(parked.hooksFailed, 'ev-parked'))!).room, 'a:b')
  assert.equal(await client.zscore(parked.hooksFailedOrder, 'ev-parked'), '1234')
  assert.equal((await client.lrange('chat:outboxes', 0, -1)).length, 256, 'the streams are listed for direct consumers')

  // A later start finds layout 3 and moves nothing, even a key that looks old.
  await client.set('chat:{p1}:room:late', 'x')
  await openEngine(t, redis, 'node-c')
  assert.equal(await client.get('chat:{p1}:room:late'), 'x')
}, { own: true })

layoutTest('a Redis marked with a layout this version does not know is refused at start-up', async (t, redis) => {
  await redis.inspect(t).set('chat:layout', '9')
  await assert.rejects(openEngine(t, redis), /key layout 9, which this version \(layout 3\) does not know/)
}, { own: true })
