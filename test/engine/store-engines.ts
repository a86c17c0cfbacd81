import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import pino from 'pino'
import type { StorageExtension } from '../../src/engine/extension.ts'
import { createSqliteStore } from '../../src/engine/local/sqlite-store.ts'
import { createPostgresStore } from '../../src/engine/postgres/store.ts'
import { createRedisEngine } from '../../src/engine/redis/engine.ts'
import type { ChatEngine, ChatStore, RoomEvent } from '../../src/engine/types.ts'
import { startPostgres } from '../postgres-helper.ts'
import { LAYOUTS, type RedisTarget, startRedisTarget } from '../redis-layouts.ts'

export interface StoreOptions {
  /** 1000 when omitted. */
  defaultHistoryLimit?: number
  /** How long clientIds are remembered; the engine's default when omitted. */
  clientIdTtlMs?: number
  /** Features' storage to build on the engine. */
  extensions?: StorageExtension[]
}

/** A store for one test, with the features' ports built on it, and the events it published. */
export interface TestStore {
  store: ChatStore
  port: <P>(extension: StorageExtension<P>) => P
  /** Events the store (and the ports) published, as a member here would receive them (Redis: once the room is followed). */
  events: RoomEvent[]
  /** Has this node follow the room, as a member joining it would: its events then reach `events`. */
  follow: (room: string) => Promise<void>
}

/** Opens a store for one test and closes it when the test ends; undefined when the engine cannot run here. */
export type OpenStore = (t: TestContext, options?: StoreOptions) => Promise<TestStore | undefined>

const silent = pino({ level: 'silent' })

/** SQLite on a fresh file in a temporary directory. */
export const openSqlite: OpenStore = async (t, options = {}) => {
  const events: RoomEvent[] = []
  // The directory goes once the store is closed: removed while the store still writes, it is not empty.
  const dir = mkdtempSync(join(tmpdir(), 'chat-test-'))
  const store = createSqliteStore({
    path: join(dir, 'chat.sqlite'),
    defaultHistoryLimit: options.defaultHistoryLimit ?? 1000,
    clientIdTtlMs: options.clientIdTtlMs,
    publish: (event) => events.push(event)
  })
  t.after(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const ports = new Map((options.extensions ?? []).map((extension) => [extension, extension.local(store.storage)]))
  return { store, port: <P>(extension: StorageExtension<P>) => ports.get(extension) as P, events, follow: async () => {} }
}

/** An engine on the given Redis, closed when the test ends. */
export async function openRedisEngine (t: TestContext, redis: RedisTarget, options: StoreOptions = {}): Promise<ChatEngine> {
  const engine = await createRedisEngine({
    url: redis.url,
    cluster: redis.cluster,
    defaultHistoryLimit: options.defaultHistoryLimit ?? 1000,
    log: silent,
    clientIdTtlMs: options.clientIdTtlMs,
    extensions: options.extensions
  })
  t.after(async () => {
    await engine.broker.close()
    await engine.store.close()
  })
  return engine
}

/** A fresh Redis of the layout; undefined (test skipped) without one. */
const openRedis = (layout: typeof LAYOUTS[number]): OpenStore => async (t, options = {}) => {
  const redis = await startRedisTarget(t, layout)
  if (redis === undefined) return undefined
  const engine = await openRedisEngine(t, redis, options)
  const events: RoomEvent[] = []
  engine.broker.subscribe((event) => events.push(event))
  return {
    store: engine.store,
    port: (extension) => engine.port(extension),
    events,
    follow: async (room) => { await engine.broker.presenceAdd(room, 'watcher', `watching-${room}`) }
  }
}

/** PostgreSQL alone, on a new database of the test process's server. */
export const openPostgres: OpenStore = async (t, options = {}) => {
  const server = await startPostgres(t)
  if (server === undefined) return undefined
  const events: RoomEvent[] = []
  const store = createPostgresStore({
    url: await server.database(),
    defaultHistoryLimit: options.defaultHistoryLimit ?? 1000,
    clientIdTtlMs: options.clientIdTtlMs,
    publish: (event) => events.push(event)
  })
  const ports = await store.start(options.extensions ?? [])
  t.after(() => store.close())
  return { store, port: <P>(extension: StorageExtension<P>) => ports.get(extension) as P, events, follow: async () => {} }
}

/** Every engine a store contract runs on, by name. */
export const STORE_ENGINES: [string, OpenStore][] = [
  ['sqlite', openSqlite],
  ...LAYOUTS.map((layout) => [`redis ${layout}`, openRedis(layout)] as [string, OpenStore]),
  ['postgres', openPostgres]
]

/**
 * Registers a contract test on every engine: `body` gets the store (and the features' ports) of
 * the engine, opened with `options`; a test is named after its engine.
 */
export function contractTest (name: string, body: (opened: TestStore, t: TestContext) => Promise<void>, options: StoreOptions = {}): void {
  for (const [engine, open] of STORE_ENGINES) {
    test(`${engine}: ${name}`, async (t) => {
      const opened = await open(t, options)
      if (opened !== undefined) await body(opened, t)
    })
  }
}

export async function appendMany (store: ChatStore, room: string, count: number) {
  const messages = []
  for (let i = 1; i <= count; i++) messages.push((await store.append(room, 'alice', `m${i}`)).message)
  return messages
}

export const seqs = (messages: { seq: number }[]) => messages.map((m) => m.seq)
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
