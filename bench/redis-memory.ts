/**
 * What the Redis engine costs in Redis memory per room, per message, per connection and per
 * subscribed room, measured on a real redis-server (a single Redis, then a one-node cluster,
 * whose keys carry the slot bookkeeping of cluster mode) through the engine itself.
 *
 *   node --import tsx bench/redis-memory.ts [--rooms 5000] [--messages 50000] [--connections 20000]
 *
 * Figures are deltas of INFO memory `used_memory` (what the allocator holds for data and
 * overhead) divided by the count added; docs/scaling.md works from them.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import pino from 'pino'
import { createRedisEngine } from '../src/engine/redis/engine.ts'
import { roomKeys } from '../src/engine/redis/keys.ts'
import { readStorage } from '../src/features/read-state/storage.ts'
import { clusterNodePort, freePort } from './lib/ports.ts'

const { values } = parseArgs({
  options: {
    rooms: { type: 'string', default: '5000' },
    messages: { type: 'string', default: '50000' },
    connections: { type: 'string', default: '20000' },
    text: { type: 'string', default: '100' }
  }
})
const ROOMS = Number(values.rooms)
const MESSAGES = Number(values.messages)
const CONNECTIONS = Number(values.connections)
const TEXT = 'x'.repeat(Number(values.text))
/** Messages go to this many rooms, so each room's history is long (as in a busy deployment). */
const BUSY_ROOMS = 50

async function startRedis (cluster: boolean): Promise<{ port: number, stop: () => void }> {
  const port = cluster ? await clusterNodePort() : await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'chat-memory-'))
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, ...(cluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1'] : [])],
  { stdio: 'ignore' })
  const cli = (...args: string[]) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim()
  for (let i = 0; i < 100 && cli('ping') !== 'PONG'; i++) await sleep(50)
  if (cluster) {
    cli('cluster', 'addslotsrange', '0', '16383')
    for (let i = 0; i < 400 && !cli('cluster', 'info').includes('cluster_state:ok'); i++) await sleep(50)
  }
  return { port, stop: () => { child.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }) } }
}

async function usedMemory (redis: Redis): Promise<number> {
  const info = await redis.info('memory')
  return Number(/^used_memory:(\d+)/m.exec(info)![1])
}

async function measure (cluster: boolean) {
  const server = await startRedis(cluster)
  const inspect = new Redis(server.port, '127.0.0.1')
  const engine = await createRedisEngine({ url: `redis://127.0.0.1:${server.port}`, cluster, defaultHistoryLimit: 1_000_000, log: pino({ level: 'silent' }), extensions: [readStorage] })
  const figures: Record<string, number> = {}
  try {
    const rooms = Array.from({ length: ROOMS }, (_, i) => `room-${i}`)
    let before = await usedMemory(inspect)
    for (let i = 0; i < rooms.length; i += 500) await Promise.all(rooms.slice(i, i + 500).map((id) => engine.store.createRoom({ id })))
    let after = await usedMemory(inspect)
    figures.roomBytes = (after - before) / ROOMS

    before = after
    for (let i = 0; i < MESSAGES; i += 1000) {
      await Promise.all(Array.from({ length: Math.min(1000, MESSAGES - i) }, (_, j) =>
        engine.store.append(rooms[(i + j) % BUSY_ROOMS]!, `user-${(i + j) % 997}`, TEXT)))
    }
    after = await usedMemory(inspect)
    figures.messageBytes = (after - before) / MESSAGES
    const sample = roomKeys(rooms[0]!)
    figures.historyKeyBytes = Number(await inspect.memory('USAGE', sample.messages, 'SAMPLES', '0'))
    figures.historyMessages = await inspect.zcard(sample.messages)

    // The same messages again, each with a clientId: what remembering it for 25 h adds.
    before = await usedMemory(inspect)
    for (let i = 0; i < MESSAGES; i += 1000) {
      await Promise.all(Array.from({ length: Math.min(1000, MESSAGES - i) }, (_, j) =>
        engine.store.append(rooms[BUSY_ROOMS + (i + j) % BUSY_ROOMS]!, `user-${(i + j) % 997}`, TEXT, { clientId: `client-${i + j}` })))
    }
    after = await usedMemory(inspect)
    figures.clientIdBytes = (after - before) / MESSAGES - figures.messageBytes

    // A read seq per user and room.
    before = await usedMemory(inspect)
    for (let i = 0; i < CONNECTIONS; i += 1000) {
      await engine.port(readStorage).saveReads(Array.from({ length: Math.min(1000, CONNECTIONS - i) }, (_, j) =>
        ({ room: rooms[(i + j) % rooms.length]!, user: `reader-${i + j}`, seq: 0 })))
    }
    after = await usedMemory(inspect)
    figures.readSeqBytes = (after - before) / CONNECTIONS

    // Connections in rooms this node already follows, so only presence is counted here.
    const followed = rooms.slice(0, 100)
    for (const id of followed) await engine.broker.presenceAdd(id, 'warm', `warm-${id}`)
    before = await usedMemory(inspect)
    for (let i = 0; i < CONNECTIONS; i += 1000) {
      await Promise.all(Array.from({ length: Math.min(1000, CONNECTIONS - i) }, (_, j) =>
        engine.broker.presenceAdd(followed[(i + j) % followed.length]!, `user-${i + j}`, `connection-${i + j}`)))
    }
    after = await usedMemory(inspect)
    figures.connectionBytes = (after - before) / CONNECTIONS

    // One node following many rooms: the server's side of each room subscription.
    const subscribed = rooms.slice(100)
    before = await usedMemory(inspect)
    for (let i = 0; i < subscribed.length; i += 1000) {
      await Promise.all(subscribed.slice(i, i + 1000).map((id) => engine.broker.presenceAdd(id, 'one', `one-${id}`)))
    }
    after = await usedMemory(inspect)
    // Minus one presence entry each (measured above), the rest is the subscription.
    figures.subscriptionBytes = (after - before) / subscribed.length - figures.connectionBytes
    figures.usedMemoryMiB = after / 1024 / 1024
  } finally {
    await engine.broker.close()
    await engine.store.close()
    inspect.disconnect()
    server.stop()
  }
  return figures
}

const rows: [string, string][] = [
  ['roomBytes', 'per room (hash, index entry, empty history)'],
  ['messageBytes', `per message (${TEXT.length}-character text, ${MESSAGES / BUSY_ROOMS} per room)`],
  ['clientIdBytes', 'per message sent with a clientId, on top (kept 25 h)'],
  ['readSeqBytes', 'per read seq of a user in a room (with the user\'s room index)'],
  ['connectionBytes', 'per connection in a room (presence count + node entry)'],
  ['subscriptionBytes', 'per room a node follows (its subscription)']
]
const results = { single: await measure(false), cluster: await measure(true) }
process.stdout.write(`redis-server ${spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim()}\n`)
process.stdout.write(`${ROOMS} rooms, ${MESSAGES} messages, ${CONNECTIONS} connections\n\n`)
process.stdout.write('| bytes of used_memory | single Redis | cluster mode |\n|---|---:|---:|\n')
for (const [key, label] of rows) {
  process.stdout.write(`| ${label} | ${results.single[key]!.toFixed(0)} | ${results.cluster[key]!.toFixed(0)} |\n`)
}
process.stdout.write(`\nMEMORY USAGE of one history of ${results.single.historyMessages} messages: ${results.single.historyKeyBytes} bytes (single), ${results.cluster.historyKeyBytes} (cluster)\n`)
