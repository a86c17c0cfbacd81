import { setTimeout as sleep } from 'node:timers/promises'
import { split } from '../load/pool.ts'
import { type ClientSpec, now } from '../load/protocol.ts'
import { connectAll, drain, latencies, type Load, type Metrics, type Params, users } from './scenarios.ts'
import { type RedisHandle, type ServerHandle, startRedisServer, startServer } from './servers.ts'
import { percentile } from './stats.ts'
import { busyShares, coreTimes, processCpuSeconds, processRssKiB } from './system.ts'

/**
 * cross-node: the rooms scenario's load on a deployment of the service, to compare one node on
 * SQLite, one node on Redis and two nodes on one Redis, where every room has members on both
 * nodes and senders on both, so every message crosses from one node to the other. For two
 * nodes, a second window measures a node whose members are all in other, quiet rooms while
 * the first node's rooms are busy: with per-room subscriptions it should do almost nothing.
 * The same load on the bare hub storing in SQLite (durable) and on two bare hubs sharing rooms
 * through Redis (bare-redis-2) gives the floor of each design: what storing and crossing
 * Redis cost with nothing else around them.
 */

export const DEPLOYMENTS = ['service', 'redis-1', 'redis-2', 'durable', 'bare-redis-2'] as const
export type DeploymentKind = typeof DEPLOYMENTS[number]

export interface Deployment {
  kind: DeploymentKind
  nodes: ServerHandle[]
  redis?: RedisHandle
  stop: () => Promise<void>
  output: () => string
}

export async function startDeployment (kind: DeploymentKind, serversDir: string, options: { cpu?: number, serviceEntry?: string, nodeOptions?: string }): Promise<Deployment> {
  const redis = kind === 'service' || kind === 'durable' ? undefined : await startRedisServer({ cpu: options.cpu })
  const server = kind === 'durable' ? 'durable' : kind === 'bare-redis-2' ? 'bare' : 'service'
  const nodes: ServerHandle[] = []
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()))
    await redis?.stop()
  }
  try {
    const env = redis === undefined ? undefined : { REDIS_URL: redis.url }
    for (let i = 0; i < (kind.endsWith('-2') ? 2 : 1); i++) nodes.push(await startServer(server, serversDir, { ...options, env }))
  } catch (error) {
    await stop()
    throw error
  }
  return { kind, nodes, redis, stop, output: () => nodes.map((node) => node.output()).join('\n') }
}

/** CPU seconds of some processes and the cores' busy shares over a window. */
function window (pids: number[]) {
  const start = pids.map(processCpuSeconds)
  const cores = coreTimes()
  const startedAt = now()
  return () => {
    const shares = busyShares(cores, coreTimes())
    return {
      cpuSeconds: pids.map((pid, i) => processCpuSeconds(pid) - start[i]!),
      seconds: (now() - startedAt) / 1000,
      core0Busy: (shares[0] ?? NaN) * 100,
      core1Busy: (shares[1] ?? NaN) * 100
    }
  }
}

/** Every client of the load's receivers sends once per interval, phases spread over the interval. */
async function steadyLoad (load: Load, senders: number[], slices: ClientSpec[][], params: Params['crossNode']) {
  const clients = slices.reduce((sum, slice) => sum + slice.length, 0)
  let offset = 0
  const phases = slices.map((slice) => slice.map(() => (offset++ / clients) * params.intervalMs))
  const startAt = now() + 500
  await sleep(startAt - now() - 5)
  const results = await Promise.all(senders.map((index) =>
    load.receivers[index]!.steady(startAt, params.durationMs, params.intervalMs, phases[index]!, 10_000)))
  return {
    sent: results.reduce((sum, result) => sum + result.sent, 0),
    acked: results.reduce((sum, result) => sum + result.acked, 0)
  }
}

export async function crossNode (deployment: Deployment, load: Load, params: Params): Promise<Metrics> {
  const p = params.crossNode
  const [first, second = first] = deployment.nodes as [ServerHandle, ServerHandle?]
  const pids = [...deployment.nodes.map((node) => node.pid)]

  // Window 1: every room has members on both nodes (the two receiver threads hold one node's
  // clients each; with one node, both connect to it), every client sends.
  const specs = users(p.rooms * p.perRoom, (index) => `room${index % p.rooms}`)
  const slices = split(specs, 2)
  const connected = await Promise.all([
    connectAll([load.receivers[0]!], first, [slices[0]!], params),
    connectAll([load.receivers[1]!], second, [slices[1]!], params)
  ])
  const joined = connected[0].joined + connected[1].joined
  if (joined !== specs.length) throw new Error(`only ${joined} of ${specs.length} clients joined: ${connected[0].firstError ?? connected[1].firstError}`)
  await sleep(params.connect.settleMs)
  await Promise.all(load.all.map((worker) => worker.reset()))
  // With --profile, the first node is profiled over this window (the second does the same work).
  await load.probe?.start(first)
  const measured = window(pids)
  const redisStart = deployment.redis === undefined ? NaN : processCpuSeconds(deployment.redis.pid)
  const sent = await steadyLoad(load, [0, 1], slices, p)
  const expected = sent.sent * p.perRoom
  const final = await drain(load.receivers, expected, 3000, Date.now() + 15_000)
  const end = measured()
  await load.probe?.stop(first)
  const redisCpu = deployment.redis === undefined ? NaN : processCpuSeconds(deployment.redis.pid) - redisStart
  const sorted = await latencies(load.receivers)
  const nodesCpu = end.cpuSeconds.reduce((sum, value) => sum + value, 0)
  const metrics: Metrics = {
    cpuUsPerDelivery: final.received > 0 ? nodesCpu * 1e6 / final.received : NaN,
    redisCpuUsPerDelivery: final.received > 0 ? redisCpu * 1e6 / final.received : NaN,
    deliveriesPerSec: final.received / (p.durationMs / 1000),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    lost: expected - final.received,
    sent: sent.sent,
    unacked: sent.sent - sent.acked,
    dropped: final.dropped,
    serverRssMiB: pids.reduce((sum, pid) => sum + processRssKiB(pid), 0) / 1024,
    core0Busy: end.core0Busy,
    core1Busy: end.core1Busy,
    idleNodeCpuPct: NaN,
    idleVsBusyCpu: NaN
  }
  if (deployment.nodes.length < 2) return metrics

  // Window 2: the busy rooms' members all on the first node, the second node's members in
  // rooms of their own that stay quiet.
  await Promise.all(load.receivers.map((worker) => worker.close()))
  const quiet = users(p.quietRooms * p.quietPerRoom, (index) => `quiet${index % p.quietRooms}`, specs.length)
  const busy = await connectAll([load.receivers[0]!], first, [specs], params)
  const idle = await connectAll([load.receivers[1]!], second, [quiet], params)
  if (busy.joined !== specs.length || idle.joined !== quiet.length) throw new Error(`window 2: only ${busy.joined + idle.joined} clients joined: ${busy.firstError ?? idle.firstError}`)
  await sleep(params.connect.settleMs)
  await Promise.all(load.all.map((worker) => worker.reset()))
  const measuredIdle = window(pids)
  await steadyLoad(load, [0], [specs, []], p)
  await drain([load.receivers[0]!], Infinity, 1000, Date.now() + 15_000)
  const idleEnd = measuredIdle()
  const [busyCpu, idleCpu] = idleEnd.cpuSeconds as [number, number]
  metrics.idleNodeCpuPct = idleCpu / idleEnd.seconds * 100
  metrics.busyNodeCpuPct = busyCpu / idleEnd.seconds * 100
  metrics.idleVsBusyCpu = busyCpu > 0 ? idleCpu / busyCpu : NaN
  return metrics
}
