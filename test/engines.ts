import { test, type TestContext } from 'node:test'
import { type Overrides, startServer, type TestServer } from './helper.ts'
import { startRedis } from './redis-helper.ts'

/** The engines every chat rule must hold on. */
export const ENGINES = ['sqlite', 'redis'] as const
export type EngineName = typeof ENGINES[number]

/**
 * Starts servers of one engine for a test: SQLite in memory (each call a separate server), or
 * apps on one redis-server started for the test (each call another node of one deployment).
 * Resolves undefined when the engine cannot run here (the test was skipped, or failed where
 * the component is required).
 */
export type StartNode = (overrides?: Overrides) => Promise<TestServer>

async function starter (t: TestContext, engine: EngineName): Promise<StartNode | undefined> {
  if (engine === 'sqlite') return (overrides = {}) => startServer(t, overrides)
  const redis = await startRedis(t)
  if (redis === undefined) return undefined
  return (overrides = {}) => startServer(t, { ...overrides, REDIS_URL: redis.url })
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

/** Registers `name` for the engine that spans nodes (Redis): `start` twice gives two nodes. */
export function nodesTest (name: string, body: (start: StartNode, t: TestContext) => Promise<void>, options: { timeout?: number } = {}): void {
  test(`redis, two nodes: ${name}`, { timeout: options.timeout ?? 60_000 }, async (t) => {
    const start = await starter(t, 'redis')
    if (start === undefined) return
    await body(start, t)
  })
}
