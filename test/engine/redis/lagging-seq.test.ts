import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import pino from 'pino'
import { createRedisEngine } from '../../../src/engine/redis/engine.ts'
import { roomKeys } from '../../../src/engine/redis/keys.ts'
import type { ChatEngine } from '../../../src/engine/types.ts'
import { eventually } from '../../helper.ts'
import { layoutTest, type RedisTarget } from '../../redis-layouts.ts'
import { range } from '../store-engines.ts'

const silent = pino({ level: 'silent' })

async function openEngine (t: TestContext, redis: RedisTarget): Promise<ChatEngine> {
  const engine = await createRedisEngine({ url: redis.url, cluster: redis.cluster, defaultHistoryLimit: 1000, log: silent })
  t.after(async () => {
    await engine.broker.close()
    await engine.store.close()
  })
  return engine
}

/**
 * What a primary promoted from a replica that lacked the last writes holds: the room's seq back
 * at `seq`, the messages after it gone. (The end-to-end failovers are in test/faults/;
 * here the state they leave is made directly, so each rule is checked on its own.)
 */
async function laggingPromotion (t: TestContext, redis: RedisTarget, room: string, seq: number): Promise<void> {
  const keys = roomKeys(room)
  const inspect = redis.inspect(t)
  await inspect.hset(keys.room, 'lastSeq', String(seq))
  await inspect.zremrangebyscore(keys.messages, `(${seq}`, '+inf')
}

/** A node following `room`, made for it (a member there), and the seqs of the messages it delivered. */
async function follower (t: TestContext, redis: RedisTarget, room: string) {
  const engine = await openEngine(t, redis)
  await engine.store.createRoom({ id: room })
  const seen: number[] = []
  engine.broker.subscribe((event) => {
    if (event.kind === 'message' && event.message.room === room) seen.push(event.message.seq)
  })
  await engine.broker.presenceAdd(room, 'bob', `watch-${room}`)
  return { engine, seen }
}

layoutTest('a node that delivered seqs a lagging promotion lost raises the room\'s seq on its next append: no seq is given twice', async (t, redis) => {
  const { engine, seen } = await follower(t, redis, 'lag')
  for (let i = 1; i <= 15; i++) await engine.store.append('lag', 'alice', `m${i}`)
  await eventually(() => seen.length === 15, 5000, 'fifteen messages')
  await laggingPromotion(t, redis, 'lag', 10)

  const next = await engine.store.append('lag', 'alice', 'after the failover')
  assert.equal(next.message.seq, 16, 'seq 11 was seen by members: the room goes on after what they saw')
  await eventually(() => seen.length === 16, 5000, 'the new message, not dropped as already seen')
  assert.deepEqual(seen, range(1, 16))
  assert.equal(engine.stats!().seqRaises, 1)
  assert.equal(engine.stats!().lostSeqs, 5, 'seqs 11 to 15 are counted lost')
  const recovery = await engine.store.recover('lag', 8)
  assert.deepEqual(recovery.messages.map((m) => m.seq), [9, 10, 16])
  assert.equal(recovery.recovered, false, 'messages 11 to 15 are lost: the replay says it is not whole')
})

layoutTest('after a cut, a following node raises a lagging room\'s seq itself: another node\'s append takes a new seq', async (t, redis) => {
  const { engine, seen } = await follower(t, redis, 'lag2')
  const other = await openEngine(t, redis)
  for (let i = 1; i <= 12; i++) await other.store.append('lag2', 'alice', `m${i}`)
  await eventually(() => seen.length === 12, 5000, 'twelve messages')
  await laggingPromotion(t, redis, 'lag2', 7)
  // A failover cuts the node's subscriptions; the repair that follows finds the room behind.
  await Promise.all(redis.primaries().map((node) => node.client('KILL', 'TYPE', 'pubsub')))
  await eventually(() => engine.stats!().seqRaises === 1, 10_000, 'the raise')
  assert.equal(engine.stats!().lostSeqs, 5, 'seqs 8 to 12, delivered here and gone from Redis, are counted lost')

  const next = await other.store.append('lag2', 'carol', 'from a node that follows no member there')
  assert.equal(next.message.seq, 13)
  await eventually(() => seen.length === 13, 5000, 'the new message on the following node')
  assert.deepEqual(seen, range(1, 13))
})

layoutTest('a room deleted and made again starts over at seq 1: a node\'s memory of the old room raises nothing', async (t, redis) => {
  const { engine, seen } = await follower(t, redis, 'again')
  for (let i = 1; i <= 5; i++) await engine.store.append('again', 'alice', `m${i}`)
  await eventually(() => seen.length === 5, 5000, 'five messages')
  await engine.store.deleteRoom('again')
  await engine.store.createRoom({ id: 'again' })
  await engine.broker.presenceAdd('again', 'bob', 'watch-again-2')
  const first = await engine.store.append('again', 'alice', 'a new room')
  assert.equal(first.message.seq, 1)
  assert.equal(engine.stats!().seqRaises, 0)
})
