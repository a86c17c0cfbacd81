import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import type { TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pino from 'pino'
import { WebSocket } from 'ws'
import type { RedisBroker } from '../../../src/engine/redis/broker.ts'
import { createRedisEngine } from '../../../src/engine/redis/engine.ts'
import { roomKeys } from '../../../src/engine/redis/keys.ts'
import type { ChatEngine } from '../../../src/engine/types.ts'
import { editsStorage } from '../../../src/features/message-edits/storage.ts'
import { connect, eventually, type Frame, spawnServer } from '../../helper.ts'
import { layoutTest, type RedisTarget } from '../../redis-layouts.ts'
import { range } from '../store-engines.ts'

const silent = pino({ level: 'silent' })

async function openEngine (t: TestContext, redis: RedisTarget): Promise<ChatEngine> {
  const engine = await createRedisEngine({ url: redis.url, cluster: redis.cluster, defaultHistoryLimit: 1000, log: silent, extensions: [editsStorage] })
  t.after(async () => {
    await engine.broker.close()
    await engine.store.close()
  })
  return engine
}

/** Cuts every pub/sub connection of every node, as an operator or a network fault would. */
async function killSubscriptions (redis: RedisTarget): Promise<void> {
  await Promise.all(redis.primaries().map((node) => node.client('KILL', 'TYPE', 'pubsub')))
}

layoutTest('subscriptions cut while messages flow lose nothing: every room\'s messages arrive once, in seq order', async (t, redis) => {
  const sender = await openEngine(t, redis)
  const receiver = await openEngine(t, redis)
  const rooms = Array.from({ length: 12 }, (_, i) => `cut-${i}`)
  assert.ok(new Set(rooms.map((room) => roomKeys(room).partition)).size > 6, 'rooms in many partitions')
  const seen = new Map(rooms.map((room) => [room, [] as number[]]))
  receiver.broker.subscribe((event) => {
    if (event.kind === 'message') seen.get(event.message.room)!.push(event.message.seq)
  })
  for (const room of rooms) {
    await sender.store.createRoom({ id: room })
    await receiver.broker.presenceAdd(room, 'bob', `c-${room}`)
  }

  const rounds = 40
  const cutter = (async () => {
    for (let cut = 0; cut < 3; cut++) {
      await sleep(60)
      await killSubscriptions(redis)
    }
  })()
  for (let round = 1; round <= rounds; round++) {
    await Promise.all(rooms.map((room) => sender.store.append(room, 'alice', `m${round}`)))
    await sleep(5)
  }
  await cutter
  await eventually(() => rooms.every((room) => seen.get(room)!.length >= rounds), 15_000, 'every message on the receiver')
  await sleep(200)
  for (const room of rooms) assert.deepEqual(seen.get(room), range(1, rounds), `room ${room}: once each, in order`)
  const { stats } = (receiver.broker as RedisBroker).feeds
  t.diagnostic(`${stats.repaired} messages read from history in ${stats.repairs} reads`)
  assert.ok(stats.repaired > 0, `messages missed during the cuts were read from history (${stats.repaired} over ${stats.repairs} reads)`)
})

layoutTest('an edit made while a node\'s subscription is cut reaches it when the subscription is back', async (t, redis) => {
  const writer = await openEngine(t, redis)
  const reader = await openEngine(t, redis)
  await writer.store.createRoom({ id: 'edits' })
  await reader.broker.presenceAdd('edits', 'bob', 'c1')
  const events: string[] = []
  reader.broker.subscribe((event) => {
    if (event.kind === 'message') events.push(`message ${event.message.seq}`)
    if (event.kind === 'updated') events.push(`updated ${event.message.seq}: ${event.message.text}`)
  })
  for (let i = 1; i <= 3; i++) await writer.store.append('edits', 'alice', `m${i}`)
  await eventually(() => events.length === 3, 5000, 'the messages')
  await killSubscriptions(redis)
  // The subscriber reconnects after 100 ms at the soonest: this edit is published meanwhile.
  assert.equal((await writer.port(editsStorage).edit('edits', 2, 'm2 edited', {}, { user: 'alice' }, true)).outcome, 'changed')
  await eventually(() => events.includes('updated 2: m2 edited'), 10_000, 'the edit after the cut')
  await writer.store.append('edits', 'alice', 'm4')
  await eventually(() => events.includes('message 4'), 5000, 'the next message')
  assert.deepEqual(events, ['message 1', 'message 2', 'message 3', 'updated 2: m2 edited', 'message 4'])
})

/** CPU time (user + system, in clock ticks) a process has used, from /proc/<pid>/stat. */
function cpuTicks (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

/** A raw client that counts frames, for sending thousands of messages without per-frame waits. */
async function counter (url: string): Promise<{ ws: WebSocket, counts: Map<string, number>, send: (frame: Frame) => void }> {
  const ws = new WebSocket(url)
  const counts = new Map<string, number>()
  ws.on('message', (data) => {
    const type = (JSON.parse(data.toString()) as Frame).type as string
    counts.set(type, (counts.get(type) ?? 0) + 1)
  })
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  return { ws, counts, send: (frame) => ws.send(JSON.stringify(frame)) }
}

layoutTest('a node with no member in a busy room does no work for it', async (t, redis) => {
  if (!existsSync('/proc/self/stat')) {
    t.skip('no /proc to read CPU time from')
    return
  }
  const env = { ...redis.env, CHAT_DB: ':memory:', CHAT_MSG_RATE: '100000' }
  const [busy, idle] = await Promise.all([spawnServer(t, env), spawnServer(t, env)])
  const { client: carol } = await connect(`${idle.wsUrl}?user=carol`)
  t.after(() => carol.ws.terminate())
  await carol.join('quiet')
  const { client: bob } = await connect(`${busy.wsUrl}?user=bob`)
  t.after(() => bob.ws.terminate())
  await bob.join('busy')
  const alice = await counter(`${busy.wsUrl}?user=alice`)
  t.after(() => alice.ws.terminate())
  alice.send({ type: 'join', room: 'busy' })
  await eventually(() => alice.counts.get('joined') === 1, 5000, 'alice joined')
  // More members on the busy node, so its work per message is a chat room's, not one socket's.
  const others = await Promise.all(['m1', 'm2', 'm3', 'm4'].map((user) => counter(`${busy.wsUrl}?user=${user}`)))
  for (const other of others) {
    t.after(() => other.ws.terminate())
    other.send({ type: 'join', room: 'busy' })
  }
  await eventually(() => others.every((other) => other.counts.get('joined') === 1), 5000, 'the others joined')

  const total = 3000
  const before = { busy: cpuTicks(busy.child.pid!), idle: cpuTicks(idle.child.pid!) }
  for (let i = 0; i < total; i++) {
    alice.send({ type: 'message', room: 'busy', text: `load ${i}` })
    if (i % 100 === 99) await eventually(() => (alice.counts.get('ack') ?? 0) >= i - 200, 10_000, 'acks keep up')
  }
  await eventually(() => alice.counts.get('ack') === total && [alice, ...others].every((client) => client.counts.get('message') === total),
    30_000, 'every message stored and delivered')
  const used = { busy: cpuTicks(busy.child.pid!) - before.busy, idle: cpuTicks(idle.child.pid!) - before.idle }
  t.diagnostic(`CPU over ${total} messages: busy node ${used.busy} ticks, idle node ${used.idle} ticks`)
  assert.ok(used.busy >= 10, `the busy node worked (${used.busy} ticks)`)
  assert.ok(used.idle * 10 <= used.busy, `the idle node used ${used.idle} ticks while the busy one used ${used.busy}`)

  // The busy room's channel has one subscriber, the busy node; the quiet room's has the idle one.
  const subscribers = async (room: string) => {
    let count = 0
    for (const node of redis.primaries()) {
      const reply = await node.call('PUBSUB', redis.cluster ? 'SHARDNUMSUB' : 'NUMSUB', roomKeys(room).channel) as [string, number]
      count += Number(reply[1])
    }
    return count
  }
  assert.equal(await subscribers('busy'), 1)
  assert.equal(await subscribers('quiet'), 1)

  // The idle node still serves its own room.
  const { client: dave } = await connect(`${busy.wsUrl}?user=dave`)
  t.after(() => dave.ws.terminate())
  await dave.join('quiet')
  await dave.request({ type: 'message', room: 'quiet', text: 'still here?' })
  assert.equal((await carol.next('message')).text, 'still here?')
  await bob.next((frame) => frame.type === 'message' && frame.seq === total, 10_000)
})
