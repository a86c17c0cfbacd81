import { test, type TestContext } from 'node:test'
import { connectAs, type Overrides, startServer, type TestServer } from './helper.ts'
import { type Layout, startRedisTarget } from './redis-layouts.ts'

/** The engines every chat rule must hold on: SQLite, and Redis in both layouts. */
export const ENGINES = ['sqlite', 'redis', 'redis-cluster'] as const
export type EngineName = typeof ENGINES[number]

/**
 * Starts servers of one engine for a test: SQLite in memory (each call a separate server), or
 * apps on one Redis (a redis-server started for the test, or the test file's Redis Cluster),
 * each call another node of one deployment.
 * Resolves undefined when the engine cannot run here (the test was skipped, or failed where
 * the component is required).
 */
export type StartNode = (overrides?: Overrides) => Promise<TestServer>

async function starter (t: TestContext, engine: EngineName): Promise<StartNode | undefined> {
  if (engine === 'sqlite') return (overrides = {}) => startServer(t, overrides)
  const layout: Layout = engine === 'redis' ? 'standalone' : 'cluster'
  const redis = await startRedisTarget(t, layout)
  if (redis === undefined) return undefined
  return (overrides = {}) => startServer(t, { ...overrides, ...redis.config })
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

/** Registers `name` for the engine that spans nodes (Redis, both layouts): `start` twice gives two nodes. */
export function nodesTest (name: string, body: (start: StartNode, t: TestContext) => Promise<void>, options: { timeout?: number } = {}): void {
  for (const engine of ['redis', 'redis-cluster'] as const) {
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
