import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { Cluster, Redis } from 'ioredis'
import { clusterNodePort } from '../bench/lib/ports.ts'
import { eventually, type Overrides } from './helper.ts'
import { requireCommand, startRedis } from './redis-helper.ts'

/** The two Redis layouts every Redis test runs on. */
export const LAYOUTS = ['standalone', 'cluster'] as const
export type Layout = typeof LAYOUTS[number]

/** A Redis to test against, in either layout. */
export interface RedisTarget {
  layout: Layout
  /** REDIS_URL: the server, or one node of the cluster. */
  url: string
  cluster: boolean
  /** The app's configuration for this Redis. */
  config: Overrides
  /** The environment of a spawned server for this Redis. */
  env: Record<string, string>
  /** A client for looking at what the engine wrote, closed when the test ends. */
  inspect: (t: TestContext) => Redis | Cluster
  /** Every key matching the pattern, over all primaries. */
  keys: (pattern: string) => Promise<string[]>
  /** Every primary (one for a single Redis), for commands such as CLIENT KILL. */
  primaries: () => Redis[]
}

export interface RedisClusterServer {
  url: string
  ports: number[]
  processes: ChildProcess[]
  stop: () => Promise<void>
}

const NODES = 3

function killNow (processes: ChildProcess[]): void {
  for (const child of processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
}

/**
 * A real 3-primary Redis Cluster on free loopback ports: `redis-server --cluster-enabled yes`
 * three times and `redis-cli --cluster create … --cluster-replicas 0`, without persistence.
 * The processes do not hold the test process open; they are killed when it exits or by stop().
 */
async function launchCluster (): Promise<RedisClusterServer> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-cluster-'))
  const ports: number[] = []
  // One after the other, so that no two nodes share a port or a bus port (+10000).
  for (let i = 0; i < NODES; i++) {
    let port = await clusterNodePort()
    while (ports.some((other) => Math.abs(other - port) % 10000 === 0)) port = await clusterNodePort()
    ports.push(port)
  }
  const processes = ports.map((port) => {
    const nodeDir = join(dir, String(port))
    mkdirSync(nodeDir)
    const child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
      '--cluster-config-file', join(nodeDir, 'nodes.conf'), '--cluster-node-timeout', '2000',
      '--save', '', '--appendonly', 'no', '--dir', nodeDir, '--logfile', join(nodeDir, 'redis.log')
    ], { stdio: 'ignore' })
    child.unref()
    return child
  })
  const onExit = () => {
    killNow(processes)
    rmSync(dir, { recursive: true, force: true })
  }
  process.once('exit', onExit)
  const ping = (port: number) => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG'
  await eventually(() => ports.every(ping), 10_000, 'cluster nodes start')
  const created = spawnSync('redis-cli', [
    '--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'
  ], { encoding: 'utf8', timeout: 30_000 })
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`)
  const state = (port: number) => spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' }).stdout
  await eventually(() => ports.every((port) => state(port).includes('cluster_state:ok')), 20_000, 'cluster_state:ok')
  return {
    url: `redis://127.0.0.1:${ports[0]!}`,
    ports,
    processes,
    async stop () {
      const exited = processes.map((child) => child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : new Promise((resolve) => child.once('exit', resolve)))
      // Held while they exit: with nothing else left, an unref'd child's exit would not be awaited.
      for (const child of processes) child.ref()
      killNow(processes)
      await Promise.all(exited)
      process.removeListener('exit', onExit)
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

let shared: Promise<RedisClusterServer> | undefined

/**
 * A 3-primary cluster, or undefined (test skipped) when redis-server is not installed, unless
 * REQUIRE_REDIS=1. By default one cluster serves every test of the test file, emptied before
 * each (creating one takes seconds); `own` starts one for this test alone (for outages).
 */
export async function startRedisCluster (t: TestContext, own = false): Promise<RedisClusterServer | undefined> {
  if (!requireCommand(t, 'redis-server', 'REQUIRE_REDIS', 'apt-get install redis-server')) return undefined
  if (own) {
    const cluster = await launchCluster()
    t.after(() => { t.after(() => cluster.stop()) })
    return cluster
  }
  shared ??= launchCluster()
  const cluster = await shared
  await Promise.all(cluster.ports.map(async (port) => {
    const node = new Redis(port, '127.0.0.1')
    try {
      await node.flushall()
    } finally {
      node.disconnect()
    }
  }))
  return cluster
}

function clusterClient (url: string): Cluster {
  const { hostname, port } = new URL(url)
  return new Cluster([{ host: hostname, port: Number(port) }])
}

/**
 * A Redis in the given layout, or undefined when the test was skipped: a fresh redis-server for
 * the single Redis, the file's shared cluster (emptied) unless `own`.
 */
export async function startRedisTarget (t: TestContext, layout: Layout, own = false): Promise<RedisTarget | undefined> {
  const server = layout === 'cluster' ? await startRedisCluster(t, own) : await startRedis(t)
  if (server === undefined) return undefined
  const cluster = layout === 'cluster'
  const ports = 'ports' in server ? server.ports : [server.port]
  const connections: Redis[] = []
  t.after(() => { for (const connection of connections) connection.disconnect() })
  const primaries = () => {
    if (connections.length === 0) {
      for (const port of ports) connections.push(new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0 }).on('error', () => {}))
    }
    return connections
  }
  return {
    layout,
    url: server.url,
    cluster,
    config: { REDIS_URL: server.url, CHAT_REDIS_CLUSTER: cluster },
    env: { REDIS_URL: server.url, CHAT_REDIS_CLUSTER: String(cluster) },
    inspect (t2) {
      const client = cluster ? clusterClient(server.url) : new Redis(server.url)
      client.on('error', () => {})
      t2.after(() => client.disconnect())
      return client
    },
    async keys (pattern) {
      const found = await Promise.all(primaries().map((node) => node.keys(pattern)))
      return found.flat().sort()
    },
    primaries
  }
}

/**
 * Registers the test once per layout, named "<name> [standalone]" and "<name> [cluster]".
 * The body does not run when the test was skipped (redis-server missing).
 */
export function layoutTest (name: string, body: (t: TestContext, redis: RedisTarget) => Promise<void>, options: { own?: boolean } = {}): void {
  for (const layout of LAYOUTS) {
    test(`${name} [${layout}]`, async (t) => {
      const redis = await startRedisTarget(t, layout, options.own === true)
      if (redis === undefined) return
      await body(t, redis)
    })
  }
}
