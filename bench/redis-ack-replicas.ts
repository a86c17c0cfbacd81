/**
 * What CHAT_REDIS_ACK_REPLICAS=1 costs an append on the Redis engine: a Redis primary with one
 * replica on loopback, the engine's store appending messages (each with a clientId, as the SDK
 * sends) into 100 rooms, without and with the WAIT for the replica, in alternating rounds.
 *
 *   node --import tsx bench/redis-ack-replicas.ts [--messages 5000] [--rounds 3] [--in-flight 100]
 *
 * Two loads per round: one append at a time (the latency a lone sender sees, p50 and p99), and
 * `--in-flight` appends outstanding at once (throughput; appends issued in one event-loop turn
 * go to Redis as one batch and share one WAIT). Reported: medians of the rounds, and the ratio
 * of the two settings measured in the same run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { createRedisEngine } from '../src/engine/redis/engine.ts'
import type { ChatEngine } from '../src/engine/types.ts'
import { freePort } from './lib/ports.ts'
import { percentile } from './lib/stats.ts'

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
    'in-flight': { type: 'string', default: '100' }
  }
})
const MESSAGES = Number(values.messages)
const ROUNDS = Number(values.rounds)
const IN_FLIGHT = Number(values['in-flight'])
const ROOMS = 100

interface Sample { p50Us: number, p99Us: number, perSecond: number }

const processes: ChildProcess[] = []
process.once('exit', () => { for (const child of processes) child.kill('SIGKILL') })

async function redisServer (dir: string, args: string[]): Promise<number> {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args], { stdio: 'ignore' })
  processes.push(child)
  // Bounded: 10 s for the server to answer.
  for (let i = 0; i < 200; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG') return port
    await sleep(50)
  }
  throw new Error(`redis-server on ${port} did not start`)
}

let sent = 0
const append = (engine: ChatEngine) => {
  const n = sent++
  return engine.store.append(`room-${n % ROOMS}`, `user-${n % 10}`, `message ${n} of the ack-replicas bench`, { clientId: `c-${n}` })
}

async function round (url: string, ackReplicas: number): Promise<Sample> {
  const engine = await createRedisEngine({ url, ackReplicas, defaultHistoryLimit: 1000, log: pino({ level: 'silent' }) })
  try {
    for (let room = 0; room < ROOMS; room++) await engine.store.createRoom({ id: `room-${room}` }).catch(() => {})
    for (let i = 0; i < 500; i++) await append(engine)
    const times: number[] = []
    for (let i = 0; i < MESSAGES; i++) {
      const started = performance.now()
      await append(engine)
      times.push((performance.now() - started) * 1000)
    }
    times.sort((a, b) => a - b)
    const started = performance.now()
    let issued = 0
    const lane = async () => {
      while (issued < MESSAGES) {
        issued++
        await append(engine)
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
    const perSecond = MESSAGES / ((performance.now() - started) / 1000)
    return { p50Us: percentile(times, 0.5), p99Us: percentile(times, 0.99), perSecond }
  } finally {
    await engine.broker.close()
    await engine.store.close()
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const dir = mkdtempSync(join(tmpdir(), 'chat-ack-replicas-'))
try {
  const primary = await redisServer(join(dir), [])
  const replicaDir = mkdtempSync(join(tmpdir(), 'chat-ack-replicas-replica-'))
  const replica = await redisServer(replicaDir, ['--replicaof', '127.0.0.1', String(primary)])
  // Bounded: 10 s for the replica's first sync.
  for (let i = 0; i < 200 && !spawnSync('redis-cli', ['-p', String(replica), 'info', 'replication'], { encoding: 'utf8' }).stdout.includes('master_link_status:up'); i++) await sleep(50)
  const url = `redis://127.0.0.1:${primary}`
  const samples: Record<'0' | '1', Sample[]> = { 0: [], 1: [] }
  for (let r = 0; r < ROUNDS; r++) {
    for (const ack of [0, 1] as const) {
      const sample = await round(url, ack)
      samples[ack].push(sample)
      process.stdout.write(`round ${r + 1} CHAT_REDIS_ACK_REPLICAS=${ack}: one at a time p50 ${sample.p50Us.toFixed(0)} µs, p99 ${sample.p99Us.toFixed(0)} µs; ${IN_FLIGHT} in flight ${sample.perSecond.toFixed(0)}/s\n`)
    }
  }
  const summary = (ack: '0' | '1') => ({
    p50: median(samples[ack].map((s) => s.p50Us)),
    p99: median(samples[ack].map((s) => s.p99Us)),
    rate: median(samples[ack].map((s) => s.perSecond))
  })
  const [off, on] = [summary('0'), summary('1')]
  process.stdout.write(`\n| CHAT_REDIS_ACK_REPLICAS | append p50 (one at a time) | p99 | appends/s (${IN_FLIGHT} in flight) |\n|---|---|---|---|\n` +
    `| 0 | ${off.p50.toFixed(0)} µs | ${off.p99.toFixed(0)} µs | ${off.rate.toFixed(0)} |\n` +
    `| 1 | ${on.p50.toFixed(0)} µs (${(on.p50 / off.p50).toFixed(2)}×) | ${on.p99.toFixed(0)} µs (${(on.p99 / off.p99).toFixed(2)}×) | ${on.rate.toFixed(0)} (${(on.rate / off.rate).toFixed(2)}×) |\n`)
  rmSync(replicaDir, { recursive: true, force: true })
} finally {
  for (const child of processes) child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
}
