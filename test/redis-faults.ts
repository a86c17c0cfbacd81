import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { Redis } from 'ioredis'
import { clusterNodePort } from '../bench/lib/ports.ts'
import { eventually, freePort, tempDir } from './helper.ts'
import { requireCommand } from './redis-helper.ts'

/**
 * Redis topologies for fault tests, made of real redis-server processes on loopback ports: a
 * primary with replicas watched by three sentinels, a cluster whose primaries have replicas, a
 * single Redis with an append-only file. Each node can be killed, frozen and started again on
 * the same port and directory, as an operator's server would be.
 */

/** One redis-server (or sentinel) process that can be stopped and started again with the same port, directory and arguments. */
export interface RedisNode {
  port: number
  dir: string
  /** The running process; a new one after `start()`. */
  process: () => ChildProcess
  running: () => boolean
  /** Starts it again after a kill; resolves once it accepts connections. */
  start: () => Promise<void>
  /** Kills it (SIGKILL by default: a crash) and resolves once it exited. */
  kill: (signal?: NodeJS.Signals) => Promise<void>
  /** SIGSTOP / SIGCONT: a stall (a paused VM, a slow fork). */
  freeze: () => void
  thaw: () => void
  /** A connection for inspecting it (no retries: a down node errors at once), closed when the test ends. */
  client: () => Redis
  /** `redis-cli -p port …`, its output trimmed. */
  cli: (...args: string[]) => string
}

/** What owns the processes: a test, or a soak run; `after` registers what to do when it ends. */
export interface Scope {
  after: (fn: () => unknown) => void
}

const everyProcess = new Set<ChildProcess>()
process.once('exit', () => { for (const child of everyProcess) child.kill('SIGKILL') })

function exited (child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

/** A node on `port`, started now; it is killed when the test ends. `config` is a file's text to start from (a sentinel's), else arguments only. */
async function launchNode (t: Scope, dir: string, port: number, args: string[], config?: string): Promise<RedisNode> {
  mkdirSync(dir, { recursive: true })
  const configFile = join(dir, 'redis.conf')
  if (config !== undefined) writeFileSync(configFile, config)
  const argv = config !== undefined
    ? [configFile, '--sentinel']
    : ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', join(dir, 'redis.log'), ...args]
  let child: ChildProcess
  let connection: Redis | undefined
  const cli = (...command: string[]) => spawnSync('redis-cli', ['-p', String(port), ...command], { encoding: 'utf8', timeout: 10_000 }).stdout.trim()
  const start = async () => {
    child = spawn('redis-server', argv, { stdio: 'ignore' })
    everyProcess.add(child)
    child.once('exit', () => everyProcess.delete(child))
    await eventually(async () => {
      if (exited(child)) throw new Error(`redis-server on ${port} exited with ${child.exitCode}; see ${dir}`)
      return cli('ping') === 'PONG'
    }, 10_000, `redis-server on ${port}`)
  }
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (exited(child)) return
    const done = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGCONT')
    child.kill(signal)
    await done
  }
  await start()
  t.after(() => {
    connection?.disconnect()
    t.after(() => kill())
  })
  return {
    port,
    dir,
    process: () => child,
    running: () => !exited(child),
    start,
    kill,
    freeze: () => child.kill('SIGSTOP'),
    thaw: () => child.kill('SIGCONT'),
    client: () => {
      connection ??= new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, lazyConnect: false }).on('error', () => {})
      return connection
    },
    cli
  }
}

/** The replication section of INFO, as fields. */
export function replication (node: RedisNode): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const line of node.cli('info', 'replication').split('\n')) {
    const colon = line.indexOf(':')
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).trim()
  }
  return fields
}

export interface SentinelGroup {
  primary: RedisNode
  replicas: RedisNode[]
  sentinels: RedisNode[]
  /** The name the sentinels monitor the primary under. */
  name: string
  /** REDIS_SENTINELS and REDIS_SENTINEL_NAME for the service. */
  config: { REDIS_SENTINELS: string, REDIS_SENTINEL_NAME: string }
  /** The port of the primary the sentinels name now. */
  primaryPort: () => number
  /** Every data node (primary and replicas, as started). */
  nodes: () => RedisNode[]
}

/**
 * A primary, `replicas` replicas and three sentinels (quorum 2) that call the primary down after
 * 1 s without an answer; resolves once every replica is in sync and every sentinel knows the
 * others and every replica, so that a failover can start at once.
 */
export async function startSentinelGroup (t: TestContext, replicaCount = 2): Promise<SentinelGroup | undefined> {
  if (!requireCommand(t, 'redis-server', 'REQUIRE_REDIS', 'apt-get install redis-server')) return undefined
  const root = tempDir(t)
  const name = 'chat'
  const primary = await launchNode(t, join(root, 'primary'), await freePort(), [])
  const replicas: RedisNode[] = []
  for (let i = 0; i < replicaCount; i++) {
    replicas.push(await launchNode(t, join(root, `replica-${i}`), await freePort(), ['--replicaof', '127.0.0.1', String(primary.port)]))
  }
  await eventually(() => replicas.every((replica) => replication(replica).master_link_status === 'up'), 10_000, 'replicas in sync')
  const sentinels: RedisNode[] = []
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    const dir = join(root, `sentinel-${i}`)
    sentinels.push(await launchNode(t, dir, port, [], [
      `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `logfile ${join(dir, 'sentinel.log')}`,
      `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 10000`,
      `sentinel parallel-syncs ${name} ${replicaCount}`
    ].join('\n') + '\n'))
  }
  const count = (sentinel: RedisNode, what: string) => sentinel.cli('sentinel', what, name).split('\n').filter((line) => line === 'name').length
  await eventually(() => sentinels.every((sentinel) => count(sentinel, 'replicas') === replicaCount && count(sentinel, 'sentinels') === 2), 20_000, 'sentinels know each other and the replicas')
  const primaryPort = () => {
    for (const sentinel of sentinels) {
      if (!sentinel.running()) continue
      const [, port] = sentinel.cli('sentinel', 'get-master-addr-by-name', name).split('\n')
      if (port !== undefined) return Number(port)
    }
    throw new Error('no sentinel names a primary')
  }
  return {
    primary,
    replicas,
    sentinels,
    name,
    config: { REDIS_SENTINELS: sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(','), REDIS_SENTINEL_NAME: name },
    primaryPort,
    nodes: () => [primary, ...replicas]
  }
}

export interface ReplicatedCluster {
  /** REDIS_URL (a primary) and CHAT_REDIS_CLUSTER for the service. */
  config: { REDIS_URL: string, CHAT_REDIS_CLUSTER: true }
  nodes: RedisNode[]
  /** The node that serves `slot` now, as the given node sees it. */
  ownerOf: (slot: number) => RedisNode
  /** Every node that says it is a primary now. */
  primaries: () => RedisNode[]
  /** Resolves once every running node reports cluster_state:ok and agrees on the owner of every slot. */
  settled: (timeoutMs?: number) => Promise<void>
}

/** The slot ranges each primary serves, from CLUSTER SHARDS-like output of CLUSTER SLOTS (node id → port). */
function slotOwners (node: RedisNode): Map<number, number> {
  const owners = new Map<number, number>()
  const lines = node.cli('cluster', 'nodes').split('\n')
  for (const line of lines) {
    const fields = line.split(' ')
    if (!fields[2]?.includes('master') || fields[2].includes('fail')) continue
    const port = Number(fields[1]!.split('@')[0]!.split(':')[1])
    for (const range of fields.slice(8)) {
      if (range.startsWith('[')) continue
      const [from, to] = range.split('-').map(Number)
      for (let slot = from!; slot <= (to ?? from!); slot++) owners.set(slot, port)
    }
  }
  return owners
}

/**
 * A Redis Cluster of `primaries` primaries with `replicasEach` replicas each, nodes calling a
 * peer failed after 2 s (`cluster-node-timeout`), so that a replica takes over a dead primary's
 * slots within a few seconds.
 */
export async function startReplicatedCluster (t: TestContext, primaries = 3, replicasEach = 1): Promise<ReplicatedCluster | undefined> {
  if (!requireCommand(t, 'redis-server', 'REQUIRE_REDIS', 'apt-get install redis-server')) return undefined
  return await launchReplicatedCluster(t, tempDir(t), primaries, replicasEach)
}

/** The same cluster under any scope (the soak's too), its nodes' directories under `root`. */
export async function launchReplicatedCluster (t: Scope, root: string, primaries = 3, replicasEach = 1): Promise<ReplicatedCluster> {
  const nodes: RedisNode[] = []
  for (let i = 0; i < primaries * (1 + replicasEach); i++) {
    let port = await clusterNodePort()
    while (nodes.some((other) => Math.abs(other.port - port) % 10000 === 0)) port = await clusterNodePort()
    const dir = join(root, String(port))
    nodes.push(await launchNode(t, dir, port, [
      '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '2000'
    ]))
  }
  const created = spawnSync('redis-cli', [
    '--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', String(replicasEach), '--cluster-yes'
  ], { encoding: 'utf8', timeout: 60_000 })
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`)
  const byPort = (port: number) => nodes.find((node) => node.port === port)!
  const cluster: ReplicatedCluster = {
    config: { REDIS_URL: `redis://127.0.0.1:${nodes[0]!.port}`, CHAT_REDIS_CLUSTER: true },
    nodes,
    ownerOf (slot) {
      const viewer = nodes.find((node) => node.running())!
      return byPort(slotOwners(viewer).get(slot)!)
    },
    primaries: () => nodes.filter((node) => node.running() && replication(node).role === 'master'),
    async settled (timeoutMs = 30_000) {
      await eventually(() => {
        const running = nodes.filter((node) => node.running())
        if (!running.every((node) => node.cli('cluster', 'info').includes('cluster_state:ok'))) return false
        const views = running.map((node) => slotOwners(node))
        return views.every((view) => view.size === 16384 && [...view].every(([slot, port]) => views[0]!.get(slot) === port))
      }, timeoutMs, 'the cluster settled')
    }
  }
  await cluster.settled()
  await eventually(() => nodes.every((node) => replication(node).role === 'master' || replication(node).master_link_status === 'up'), 20_000, 'replicas in sync')
  return cluster
}

/** A single Redis that writes every command to its append-only file before answering (`appendfsync always`). */
export async function startDurableRedis (t: TestContext): Promise<RedisNode | undefined> {
  if (!requireCommand(t, 'redis-server', 'REQUIRE_REDIS', 'apt-get install redis-server')) return undefined
  return await launchNode(t, tempDir(t), await freePort(), ['--appendonly', 'yes', '--appendfsync', 'always'])
}
