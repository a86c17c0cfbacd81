import { test, type TestContext } from 'node:test'
import { connectAs, type Overrides, startServer, type TestServer } from './helper.ts'
import { startPostgres } from './postgres-helper.ts'
import { type Layout, startRedisTarget } from './redis-layouts.ts'

/**
 * The engines every chat rule must hold on: SQLite, Redis in both layouts, PostgreSQL alone, and
 * PostgreSQL with Redis between nodes (and with a Redis Cluster, for the rules across nodes).
 */
export const ENGINES = ['sqlite', 'redis', 'redis-cluster', 'postgres', 'postgres-redis'] as const
/** The engines that span nodes: `start` twice gives two nodes of one deployment. */
export const NODE_ENGINES = ['redis', 'redis-cluster', 'postgres-redis', 'postgres-cluster'] as const
export type EngineName = typeof ENGINES[number] | typeof NODE_ENGINES[number]

/** True where history is kept in a database (SQLite, PostgreSQL), false on Redis alone, which keeps it in memory. */
export const historyInDatabase = (engine: EngineName) => engine === 'sqlite' || engine.startsWith('postgres')

/**
 * Starts servers of one engine for a test: SQLite in memory or PostgreSQL alone (each call a
 * separate server, on a database of its own), or
 * apps on one Redis (a redis-server started for the test, or the test file's Redis Cluster),
 * each call another node of one deployment.
 * Resolves undefined when the engine cannot run here (the test was skipped, or failed where
 * the component is required).
 */
export type StartNode = (overrides?: Overrides) => Promise<TestServer>

async function starter (t: TestContext, engine: EngineName): Promise<StartNode | undefined> {
  if (engine === 'sqlite') return (overrides = {}) => startServer(t, overrides)
  const postgres = engine.startsWith('postgres') ? await startPostgres(t) : undefined
  if (engine === 'postgres') {
    if (postgres === undefined) return undefined
    return async (overrides = {}) => startServer(t, { CHAT_DATABASE_URL: await postgres.database(), ...overrides })
  }
  if (engine.startsWith('postgres') && postgres === undefined) return undefined
  const layout: Layout = engine === 'redis' || engine === 'postgres-redis' ? 'standalone' : 'cluster'
  const redis = await startRedisTarget(t, layout)
  if (redis === undefined) return undefined
  const database = postgres === undefined ? {} : { CHAT_DATABASE_URL: await postgres.database() }
  return (overrides = {}) => startServer(t, { ...overrides, ...redis.config, ...database })
}

/** Registers `name` once per engine, as `<engine>: name`. */
export function engineTest (name: string, body: (start: StartNode, t: TestContext, engine: EngineName) => Promise<void>,
  options: { timeout?: number } = {}): void {
  for (const engine of ENGINES) {
    test(`${engine}: ${name}`, { timeout: options.timeout ?? 60_000 }, async (t) => {
      const start = await starter(t, engine)
      if (start === undefined) return
      await body(start, t, engine)
    })
  }
}

/** Registers `name` for the engines that span nodes (Redis, both layouts, alone and with PostgreSQL): `start` twice gives two nodes. */
export function nodesTest (name: string, body: (start: StartNode, t: TestContext) => Promise<void>, options: { timeout?: number } = {}): void {
  for (const engine of NODE_ENGINES) {
    test(`${engine}, two nodes: ${name}`, { timeout: options.timeout ?? 60_000 }, async (t) => {
      const start = await starter(t, engine)
      if (start === undefined) return
      await body(start, t)
    })
  }
}

/** Two nodes of one deployment, alice connected to the first and bob to the second, both in `room`. */
export async function aliceAndBobAcrossNodes (start: StartNode, t: TestContext, room = 'lobby') {
  const a = await start()
  const b = await start()
  const alice = await connectAs(t, a, 'alice')
  const bob = await connectAs(t, b, 'bob')
  await alice.join(room)
  await bob.join(room)
  return { a, b, alice, bob }
}
