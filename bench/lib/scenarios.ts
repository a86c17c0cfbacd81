import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { addCounts, type LoadWorker, split } from '../load/pool.ts'
import { type ChatMix, type ClientSpec, type Counts, type SendResult, type Wire, now } from '../load/protocol.ts'
import { collectGarbage } from './inspector.ts'
import { processPssKiB, processTree } from './postgres.ts'
import type { ServerHandle } from './servers.ts'
import { percentile, sortedLatencies } from './stats.ts'
import { busyShares, coreTimes, processCpuSeconds, processRssKiB } from './system.ts'

/** The four scenarios: each one run against one started server, bounded in time. */

export type Metrics = Record<string, number>

/** Called around a measured window, e.g. to profile the server over exactly that window. */
export interface Probe {
  start: (server: ServerHandle) => Promise<void>
  /** `part` names a window when a scenario has several. */
  stop: (server: ServerHandle, part?: string) => Promise<void>
}

export interface Load {
  probe?: Probe
  /** Holds only the fan-out sender. */
  sender: LoadWorker
  /** Hold every other client. */
  receivers: LoadWorker[]
  all: LoadWorker[]
}

export interface Params {
  fanout: { clients: number, messages: number, window: number, timeoutMs: number }
  rooms: { rooms: number, perRoom: number, durationMs: number, intervalMs: number }
  /**
   * rooms plus typing every `typingMs`, a read of every message received, and in place of every
   * `editEvery`-th send an edit, of every `reactEvery`-th a reaction, of every `replyEvery`-th a reply.
   */
  chat: { rooms: number, perRoom: number, durationMs: number, intervalMs: number } & ChatMix
  idle: { connections: number, rooms: number, warmup: number, settleMs: number }
  /** The connect scenario: idle's measure with rooms of 20, the fixed cost of a connection and join where presence fan-out is small. */
  connectJoin: { connections: number, rooms: number, warmup: number, settleMs: number }
  rest: { durationS: number, connections: number, seed: number }
  /** The rooms scenario's load over two nodes; `quiet*`: the idle node's own members. */
  crossNode: { rooms: number, perRoom: number, durationMs: number, intervalMs: number, quietRooms: number, quietPerRoom: number }
  connect: { concurrency: number, timeoutMs: number, settleMs: number }
}

export const FULL: Params = {
  fanout: { clients: 1000, messages: 2000, window: 1, timeoutMs: 180_000 },
  rooms: { rooms: 100, perRoom: 10, durationMs: 20_000, intervalMs: 1000 },
  chat: { rooms: 100, perRoom: 10, durationMs: 20_000, intervalMs: 1000, typingMs: 2000, editEvery: 10, reactEvery: 4, replyEvery: 5 },
  idle: { connections: 10_000, rooms: 100, warmup: 50, settleMs: 3000 },
  connectJoin: { connections: 2000, rooms: 100, warmup: 50, settleMs: 3000 },
  rest: { durationS: 10, connections: 10, seed: 100 },
  crossNode: { rooms: 100, perRoom: 10, durationMs: 20_000, intervalMs: 1000, quietRooms: 20, quietPerRoom: 10 },
  connect: { concurrency: 64, timeoutMs: 30_000, settleMs: 1500 }
}

export const SMOKE: Params = {
  fanout: { clients: 100, messages: 200, window: 1, timeoutMs: 30_000 },
  rooms: { rooms: 10, perRoom: 10, durationMs: 3000, intervalMs: 1000 },
  chat: { rooms: 10, perRoom: 10, durationMs: 3000, intervalMs: 1000, typingMs: 2000, editEvery: 10, reactEvery: 4, replyEvery: 5 },
  idle: { connections: 500, rooms: 10, warmup: 10, settleMs: 1000 },
  connectJoin: { connections: 200, rooms: 10, warmup: 10, settleMs: 1000 },
  rest: { durationS: 2, connections: 10, seed: 100 },
  crossNode: { rooms: 10, perRoom: 10, durationMs: 3000, intervalMs: 1000, quietRooms: 5, quietPerRoom: 10 },
  connect: { concurrency: 32, timeoutMs: 15_000, settleMs: 500 }
}

const wireOf = (server: ServerHandle): Wire => server.kind === 'socketio' ? 'socketio' : 'chat'

/** CPU seconds so far of each process of a tree (a postmaster and its backends), by pid. */
function treeCpu (root: number): Map<number, number> {
  const cpu = new Map<number, number>()
  for (const pid of processTree(root)) {
    try {
      cpu.set(pid, processCpuSeconds(pid))
    } catch {}
  }
  return cpu
}

/** The CPU a database server (a postmaster and its children) took since `before`. */
function databaseCpuSeconds (root: number, before: Map<number, number>): number {
  let total = 0
  // A process started within the window counts from zero; one that ended within it is not counted.
  for (const [pid, cpu] of treeCpu(root)) total += cpu - (before.get(pid) ?? 0)
  return total
}

/** A database server's memory: the sum of its processes' proportional set sizes (shared buffers counted once); NaN without one. */
export function databasePssMiB (server: ServerHandle): number {
  if (server.database === undefined) return NaN
  return processTree(server.database.pid).reduce((sum, pid) => sum + (processPssKiB(pid) || 0), 0) / 1024
}

/** Server CPU (and its database server's, when it has one), both cores and the clock, read at the start and end of a measured window. */
export class Window {
  private readonly cpu: number
  private readonly databaseCpu: Map<number, number> | undefined
  private readonly cores = coreTimes()
  readonly startedAt = now()

  constructor (private readonly pid: number, private readonly databasePid?: number) {
    this.cpu = processCpuSeconds(pid)
    this.databaseCpu = databasePid === undefined ? undefined : treeCpu(databasePid)
  }

  end (): { cpuSeconds: number, databaseCpuSeconds: number, seconds: number, core0Busy: number, core1Busy: number } {
    const cpuSeconds = processCpuSeconds(this.pid) - this.cpu
    const databaseCpu = this.databasePid === undefined ? NaN : databaseCpuSeconds(this.databasePid, this.databaseCpu!)
    const shares = busyShares(this.cores, coreTimes())
    return {
      cpuSeconds,
      databaseCpuSeconds: databaseCpu,
      seconds: (now() - this.startedAt) / 1000,
      core0Busy: (shares[0] ?? NaN) * 100,
      core1Busy: (shares[1] ?? NaN) * 100
    }
  }
}

export async function connectAll (load: LoadWorker[], server: ServerHandle, specs: ClientSpec[][], params: Params) {
  const results = await Promise.all(load.map((worker, index) =>
    worker.connect(wireOf(server), server.clientUrl, specs[index] ?? [], params.connect.concurrency, params.connect.timeoutMs)))
  const joined = results.reduce((sum, result) => sum + result.joined, 0)
  const failed = results.reduce((sum, result) => sum + result.failed, 0)
  const firstError = results.find((result) => result.firstError !== undefined)?.firstError
  const startedAt = Math.min(...results.map((result) => result.startedAt))
  const finishedAt = Math.max(...results.map((result) => result.finishedAt))
  return { joined, failed, firstError, seconds: (finishedAt - startedAt) / 1000 }
}

async function counts (load: LoadWorker[]): Promise<Counts> {
  return addCounts(await Promise.all(load.map((worker) => worker.counts())))
}

/**
 * Waits until `expected` deliveries arrived, or until none arrived for `quietMs`, or the
 * deadline; returns the last counts.
 */
export async function drain (load: LoadWorker[], expected: number, quietMs: number, deadline: number): Promise<Counts> {
  let last = await counts(load)
  let lastChange = Date.now()
  while (last.received < expected && Date.now() - lastChange < quietMs && Date.now() < deadline) {
    await sleep(50)
    const current = await counts(load)
    if (current.received !== last.received) lastChange = Date.now()
    last = current
  }
  return last
}

export async function latencies (load: LoadWorker[]): Promise<Float64Array> {
  const collected = await Promise.all(load.map((worker) => worker.collect()))
  return sortedLatencies(collected.map((entry) => entry.latencies))
}

export const users = (count: number, room: (index: number) => string, offset = 0): ClientSpec[] =>
  Array.from({ length: count }, (_, index) => ({ user: `u${offset + index}`, room: room(index) }))

/** A PostgreSQL target's database figures: its server's CPU per delivery and its memory (PSS); none for the others. */
function databaseMetrics (server: ServerHandle, cpuSeconds: number, received: number): Metrics {
  if (server.database === undefined) return {}
  return {
    dbCpuUsPerDelivery: received > 0 ? cpuSeconds * 1e6 / received : NaN,
    dbPssMiB: databasePssMiB(server)
  }
}

/** fanout: every client in one room, one sender as fast as its acks allow. */
export async function fanout (server: ServerHandle, load: Load, params: Params): Promise<Metrics> {
  const { clients, messages, window, timeoutMs } = params.fanout
  const specs = users(clients, () => 'fanout')
  const connected = await connectAll([load.sender, ...load.receivers], server,
    [specs.slice(0, 1), ...split(specs.slice(1), load.receivers.length)], params)
  if (connected.joined !== clients) throw new Error(`only ${connected.joined} of ${clients} clients joined: ${connected.firstError}`)
  await sleep(params.connect.settleMs)
  await Promise.all(load.all.map((worker) => worker.reset()))

  await load.probe?.start(server)
  const measured = new Window(server.pid, server.database?.pid)
  const deadline = Date.now() + timeoutMs
  const sent = await load.sender.burst(messages, window, timeoutMs)
  const expected = sent.sent * clients
  const final = await drain(load.all, expected, 3000, deadline)
  const end = measured.end()
  await load.probe?.stop(server)
  const rss = processRssKiB(server.pid)
  const sorted = await latencies(load.all)
  const activeSeconds = final.lastAt > measured.startedAt ? (final.lastAt - measured.startedAt) / 1000 : end.seconds
  return {
    cpuUsPerDelivery: final.received > 0 ? end.cpuSeconds * 1e6 / final.received : NaN,
    ...databaseMetrics(server, end.databaseCpuSeconds, final.received),
    deliveriesPerSec: final.received / activeSeconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    lost: expected - final.received,
    sent: sent.sent,
    unacked: sent.sent - sent.acked,
    timedOut: sent.sent < messages || Date.now() >= deadline ? 1 : 0,
    dropped: final.dropped,
    serverCpuS: end.cpuSeconds,
    serverRssMiB: rss / 1024,
    core0Busy: end.core0Busy,
    core1Busy: end.core1Busy,
    seconds: activeSeconds
  }
}

/** rooms: many small rooms, every client sending at a steady rate, phases staggered. */
export function rooms (server: ServerHandle, load: Load, params: Params): Promise<Metrics> {
  const { durationMs, intervalMs } = params.rooms
  return roomTraffic(server, load, params, params.rooms, (worker, startAt, phases) =>
    worker.steady(startAt, durationMs, intervalMs, phases, 10_000))
}

/**
 * chat: the rooms load as chat apps make it: every client also signals typing every 2 s,
 * marks every message it receives read, and of every 20 sends makes 2 edits of its previous
 * message, 4 reactions to the newest message it received and 2 replies to its previous message
 * (a reply is a message, so a delivery). Deliveries and latencies count messages only; the CPU
 * per delivery pays for all of it.
 */
export function chat (server: ServerHandle, load: Load, params: Params): Promise<Metrics> {
  const { durationMs, intervalMs, typingMs, editEvery, reactEvery, replyEvery } = params.chat
  return roomTraffic(server, load, params, params.chat, (worker, startAt, phases) =>
    worker.chat(startAt, durationMs, intervalMs, phases, 10_000, { typingMs, editEvery, reactEvery, replyEvery }))
}

type Sending = (worker: LoadWorker, startAt: number, phases: number[]) => Promise<SendResult>

async function roomTraffic (server: ServerHandle, load: Load, params: Params, shape: Params['rooms'], sending: Sending): Promise<Metrics> {
  const { rooms: roomCount, perRoom, durationMs, intervalMs } = shape
  const clients = roomCount * perRoom
  const specs = users(clients, (index) => `room${index % roomCount}`)
  const slices = split(specs, load.receivers.length)
  const connected = await connectAll(load.receivers, server, slices, params)
  if (connected.joined !== clients) throw new Error(`only ${connected.joined} of ${clients} clients joined: ${connected.firstError}`)
  await sleep(params.connect.settleMs)
  await Promise.all(load.all.map((worker) => worker.reset()))

  const startAt = now() + 500
  let offset = 0
  const phases = slices.map((slice) => slice.map(() => (offset++ / clients) * intervalMs))
  await load.probe?.start(server)
  await sleep(startAt - now() - 5)
  const measured = new Window(server.pid, server.database?.pid)
  const sendResults = await Promise.all(load.receivers.map((worker, index) => sending(worker, startAt, phases[index]!)))
  // Edits and reactions are acknowledged but not delivered as messages.
  const notMessages = (result: SendResult) => (result.edits ?? 0) + (result.reactions ?? 0)
  const sent = sendResults.reduce((sum, result) => sum + result.sent - notMessages(result), 0)
  const acked = sendResults.reduce((sum, result) => sum + result.acked - notMessages(result), 0)
  const expected = sent * perRoom
  const final = await drain(load.receivers, expected, 3000, Date.now() + 15_000)
  const end = measured.end()
  await load.probe?.stop(server)
  const rss = processRssKiB(server.pid)
  const sorted = await latencies(load.receivers)
  return {
    cpuUsPerDelivery: final.received > 0 ? end.cpuSeconds * 1e6 / final.received : NaN,
    ...databaseMetrics(server, end.databaseCpuSeconds, final.received),
    deliveriesPerSec: final.received / (durationMs / 1000),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    lost: expected - final.received,
    sent,
    unacked: sent - acked,
    dropped: final.dropped,
    serverCpuS: end.cpuSeconds,
    serverRssMiB: rss / 1024,
    core0Busy: end.core0Busy,
    core1Busy: end.core1Busy,
    seconds: end.seconds
  }
}

/** idle: many joined connections doing nothing; memory per connection and connect rate. */
export async function idle (server: ServerHandle, load: Load, params: Params, shape: Params['idle'] = params.idle): Promise<Metrics> {
  const { connections, rooms: roomCount, warmup, settleMs } = shape
  const room = (index: number) => `room${index % roomCount}`
  // A few connections first, so code loaded on the first connection is not counted per connection.
  const warm = await connectAll(load.receivers, server, split(users(warmup, room, connections), load.receivers.length), params)
  if (warm.joined !== warmup) throw new Error(`warm-up: only ${warm.joined} of ${warmup} joined: ${warm.firstError}`)
  await sleep(settleMs)
  await collectGarbage(server.pid, server.inspectPort)
  const rssBefore = processRssKiB(server.pid)

  await load.probe?.start(server)
  const measured = new Window(server.pid)
  const connected = await connectAll(load.receivers, server, split(users(connections, room), load.receivers.length), params)
  const end = measured.end()
  await load.probe?.stop(server)
  await sleep(settleMs)
  await collectGarbage(server.pid, server.inspectPort)
  const rssAfter = processRssKiB(server.pid)
  const final = await counts(load.receivers)
  const held = final.open - warmup
  return {
    rssKiBPerConn: (rssAfter - rssBefore) / connected.joined,
    connectsPerSec: connected.joined / connected.seconds,
    held,
    failed: connected.failed + final.dropped,
    serverCpuUsPerConnect: end.cpuSeconds * 1e6 / connected.joined,
    serverRssMiB: rssAfter / 1024,
    core0Busy: end.core0Busy,
    core1Busy: end.core1Busy,
    seconds: connected.seconds
  }
}

async function call (base: string, method: string, path: string, body: unknown): Promise<number> {
  const response = await fetch(base + path, {
    method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  await response.arrayBuffer()
  return response.status
}

/** rest: history reads and message posts over HTTP with autocannon. */
export async function rest (server: ServerHandle, params: Params, probe?: Probe): Promise<Metrics> {
  const { durationS, connections, seed } = params.rest
  const created = await call(server.httpUrl, 'POST', '/rooms', { id: 'bench' })
  if (created !== 201) throw new Error(`POST /rooms answered ${created}`)
  for (let i = 0; i < seed; i++) {
    const status = await call(server.httpUrl, 'POST', '/rooms/bench/messages', { text: `seed message ${i}` })
    if (status !== 201) throw new Error(`seeding answered ${status}`)
  }
  const metrics: Metrics = {}
  const runs = [
    { name: 'get', method: 'GET' as const, path: '/rooms/bench/messages?limit=50', body: undefined },
    { name: 'post', method: 'POST' as const, path: '/rooms/bench/messages', body: JSON.stringify({ text: 'hello from the benchmark, a message of a typical length' }) }
  ]
  let core0 = 0
  let core1 = 0
  for (const run of runs) {
    await probe?.start(server)
    const measured = new Window(server.pid)
    const result = await autocannon({
      url: server.httpUrl + run.path,
      method: run.method,
      headers: run.body === undefined ? {} : { 'content-type': 'application/json' },
      body: run.body,
      connections,
      duration: durationS
    })
    const end = measured.end()
    await probe?.stop(server, run.name)
    const ok = result['2xx']
    metrics[`${run.name}Rps`] = ok / result.duration
    metrics[`${run.name}P99Ms`] = result.latency.p99
    metrics[`${run.name}CpuUsPerReq`] = ok > 0 ? end.cpuSeconds * 1e6 / ok : NaN
    metrics[`${run.name}Errors`] = result.non2xx + result.errors
    core0 += end.core0Busy / runs.length
    core1 += end.core1Busy / runs.length
  }
  metrics.serverRssMiB = processRssKiB(server.pid) / 1024
  metrics.core0Busy = core0
  metrics.core1Busy = core1
  return metrics
}
