/**
 * History reads and search as the stored history grows, and what a stored message costs in
 * storage, on each engine, through the service's own store code: createSqliteStore,
 * createPostgresStore or the Redis engine, with every feature's storage extension (the read
 * state's hook moves each sender's read seq with its message; search indexes it).
 *
 *   node --import tsx bench/history-size.ts --engine sqlite|postgres|redis --messages N --rooms R
 *     [--batch 5000] [--requests 300] [--seconds 10] [--fill-minutes 45] [--database-url URL] [--without read-state]
 *     [--out file.json]
 *
 * Fill: N messages, message n in room n mod R (every room gets N / R), appended through
 * `store.append` in concurrent batches of `--batch` (each batch one or a few transactions, as the
 * store groups what arrives together), progress every 10 s; the fill stops after
 * `--fill-minutes` and what was reached is measured and reported. Texts are 8 words drawn
 * (Zipf, fixed seed) from 8000 made-up words, about 55 characters.
 *
 * Then, one request at a time, each against a room drawn at random (fixed seed) among all R,
 * at most `--requests` requests or `--seconds` per kind, after 20 unmeasured ones (p50, p99,
 * mean, in ms):
 *   - history, newest page: store.history(room, 50)
 *   - history, deep page: store.history(room, 50, before) with before at a tenth of the room's seqs
 *   - recovery: store.recover(room, latest - 50), what a join with `since` reads
 *   - search through the search feature's port (engine.port(searchStorage).search, the call
 *     behind the search frame and route, without HTTP): a frequent word (in ~16 % of messages)
 *     and a rare one (~0.04 %), in the room alone and in 20 rooms (a user's rooms)
 *
 * Storage: SQLite, the database file after a TRUNCATE checkpoint (the WAL empty) minus its size
 * with only the rooms, per message, and per table/index from dbstat; PostgreSQL (after VACUUM
 * ANALYZE and CHECKPOINT) pg_database_size's growth per message and pg_total_relation_size of
 * messages (table, TOAST and indexes, the search GIN index among them) per message; Redis,
 * used_memory's growth per message (as bench/redis-memory.ts measures it).
 *
 * PostgreSQL runs as bench/lib/postgres.ts starts it for the bench (PostgreSQL's defaults, fsync
 * on) unless --database-url names an empty database; Redis is a redis-server without persistence.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import pg from 'pg'
import pino from 'pino'
import type { StorageExtension } from '../src/engine/extension.ts'
import { createSqliteStore } from '../src/engine/local/sqlite-store.ts'
import { createPostgresStore } from '../src/engine/postgres/store.ts'
import { createRedisEngine } from '../src/engine/redis/engine.ts'
import type { ChatStore } from '../src/engine/types.ts'
import { features } from '../src/features/index.ts'
import { queryWords } from '../src/features/search/search.ts'
import { searchStorage } from '../src/features/search/storage.ts'
import type { SearchStore } from '../src/features/search/store.ts'
import { BENCH_SETTINGS, type PostgresServer, startPostgresServer } from './lib/postgres.ts'
import { startRedisServer } from './lib/servers.ts'
import { machine } from './lib/system.ts'

const { values } = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    messages: { type: 'string', default: '10000' },
    rooms: { type: 'string', default: '10' },
    batch: { type: 'string', default: '5000' },
    requests: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '10' },
    'fill-minutes': { type: 'string', default: '45' },
    'database-url': { type: 'string' },
    without: { type: 'string', default: '' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false }
  }
})
if (values.help) {
  process.stdout.write('node --import tsx bench/history-size.ts --engine sqlite|postgres|redis --messages N --rooms R [--batch 5000] [--requests 300] [--seconds 10] [--fill-minutes 45] [--database-url URL] [--without read-state] [--out file.json]\n')
  process.exit(0)
}
const ENGINE = values.engine as 'sqlite' | 'postgres' | 'redis'
if (!['sqlite', 'postgres', 'redis'].includes(ENGINE)) throw new Error(`--engine: sqlite, postgres or redis, not ${values.engine}`)
const MESSAGES = Number(values.messages)
const ROOMS = Number(values.rooms)
const BATCH = Number(values.batch)
const REQUESTS = Number(values.requests)
const SECONDS = Number(values.seconds)
const FILL_MS = Number(values['fill-minutes']) * 60_000
for (const [name, value] of Object.entries({ MESSAGES, ROOMS, BATCH, REQUESTS, SECONDS })) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name.toLowerCase()} must be a positive integer`)
}
const PAGE = 50
const SEARCH_ROOMS = 20
const WARMUP = 20

const log = (line: string) => process.stdout.write(line + '\n')

// ---- texts ---------------------------------------------------------------------------

/** A small fast PRNG with a seed, so every engine stores the same texts and reads the same rooms. */
function mulberry32 (seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6D2B79F5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SYLLABLES = ['ka', 'lo', 'mi', 're', 'tu', 'sa', 'ne', 'vo', 'pi', 'da', 'go', 'fe', 'ri', 'mu', 'zo', 'be', 'ha', 'jo', 'ly', 'wi']
const VOCABULARY = 8000
/** The word of rank i: three syllables, all distinct, none the start of another. */
const word = (i: number) => SYLLABLES[i % 20]! + SYLLABLES[Math.floor(i / 20) % 20]! + SYLLABLES[Math.floor(i / 400) % 20]!
const WORDS = Array.from({ length: VOCABULARY }, (_, i) => word(i))
/** Cumulative Zipf (s = 1) weights, for drawing a rank. */
const CUMULATIVE = (() => {
  const weights = WORDS.map((_, i) => 1 / (i + 1))
  const total = weights.reduce((sum, w) => sum + w, 0)
  let sum = 0
  return weights.map((w) => (sum += w / total))
})()
function drawRank (random: () => number): number {
  const r = random()
  let lo = 0
  let hi = CUMULATIVE.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (CUMULATIVE[mid]! < r) lo = mid + 1
    else hi = mid
  }
  return lo
}
const textRandom = mulberry32(42)
const textOf = () => Array.from({ length: 8 }, () => WORDS[drawRank(textRandom)]!).join(' ')
/** Rank 5: about 2.3 % of the draws, in about 16 % of the messages; rank 3000: in about 0.04 %. */
const FREQUENT = WORDS[5]!
const RARE = WORDS[3000]!

// ---- the engine ----------------------------------------------------------------------

interface Target {
  store: ChatStore
  search: SearchStore
  /** Storage in bytes (database size, used_memory), and its parts when known. */
  size: () => Promise<{ bytes: number, parts: Record<string, number> }>
  /** After the fill: what a deployment's background work would have done (checkpoint, vacuum). */
  settle: () => Promise<void>
  close: () => Promise<void>
}

/** Every feature's storage but those --without names (say read-state, whose append hook costs PostgreSQL a round trip per message). */
const WITHOUT = new Set(values.without.split(',').filter((name) => name !== ''))
const extensions = features.map((feature) => feature.storage)
  .filter((storage): storage is StorageExtension => storage !== undefined && !WITHOUT.has(storage.name))
if (WITHOUT.size > 0 && extensions.length !== features.filter((feature) => feature.storage !== undefined).length - WITHOUT.size) {
  throw new Error(`--without: no feature storage named ${[...WITHOUT].join(', ')}`)
}

async function openTarget (): Promise<Target> {
  if (ENGINE === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'chat-history-size-'))
    const path = join(dir, 'chat.sqlite')
    const store = createSqliteStore({ path, defaultHistoryLimit: 0 })
    const ports = new Map<StorageExtension, unknown>(extensions.map((extension) => [extension, extension.local(store.storage)]))
    const db = store.storage.db
    const checkpoint = () => db.pragma('wal_checkpoint(TRUNCATE)')
    return {
      store,
      search: ports.get(searchStorage) as SearchStore,
      async size () {
        checkpoint()
        const bytes = statSync(path).size + (statSync(path + '-wal', { throwIfNoEntry: false })?.size ?? 0)
        const parts: Record<string, number> = {}
        try {
          for (const row of db.prepare<[], { name: string, bytes: number }>('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY 2 DESC').all()) {
            parts[row.name] = row.bytes
          }
        } catch {}
        return { bytes, parts }
      },
      async settle () {
        checkpoint()
      },
      async close () {
        await store.close()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  if (ENGINE === 'postgres') {
    let server: PostgresServer | undefined
    let url = values['database-url']
    if (url === undefined) {
      server = await startPostgresServer({ settings: BENCH_SETTINGS })
      url = await server.database()
    }
    const store = createPostgresStore({ url, defaultHistoryLimit: 0 })
    const ports = await store.start(extensions)
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    const number = async (sql: string) => Number((await admin.query<{ n: string }>(sql)).rows[0]!.n)
    return {
      store,
      search: ports.get(searchStorage) as SearchStore,
      async size () {
        const parts: Record<string, number> = {}
        const { rows } = await admin.query<{ name: string, bytes: string }>(`SELECT c.relname AS name, pg_relation_size(c.oid) AS bytes
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 't')
          ORDER BY 2 DESC`)
        for (const row of rows) parts[row.name] = Number(row.bytes)
        parts['messages: pg_total_relation_size'] = await number("SELECT pg_total_relation_size('messages') AS n")
        return { bytes: await number('SELECT pg_database_size(current_database()) AS n'), parts }
      },
      async settle () {
        await admin.query('VACUUM (ANALYZE)')
        await admin.query('CHECKPOINT')
      },
      async close () {
        await admin.end()
        await store.close()
        await server?.stop()
      }
    }
  }
  const redisServer = await startRedisServer()
  const engine = await createRedisEngine({ url: redisServer.url, defaultHistoryLimit: 1_000_000, log: pino({ level: 'silent' }), extensions })
  const { Redis } = await import('ioredis')
  const inspect = new Redis(redisServer.url)
  return {
    store: engine.store,
    search: engine.port(searchStorage),
    async size () {
      const info = await inspect.info('memory')
      return { bytes: Number(/^used_memory:(\d+)/m.exec(info)![1]), parts: {} }
    },
    async settle () {},
    async close () {
      inspect.disconnect()
      await engine.broker.close()
      await engine.store.close()
      await redisServer.stop()
    }
  }
}

// ---- measuring -------------------------------------------------------------------------

interface Latency { requests: number, p50: number, p99: number, mean: number, results: number }

async function sample (pick: () => Promise<number>): Promise<Latency> {
  for (let i = 0; i < WARMUP; i++) await pick()
  const times: number[] = []
  let results = 0
  const deadline = performance.now() + SECONDS * 1000
  while (times.length < REQUESTS && performance.now() < deadline) {
    const started = performance.now()
    results += await pick()
    times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!
  return { requests: times.length, p50: at(0.5), p99: at(0.99), mean: times.reduce((sum, t) => sum + t, 0) / times.length, results: results / times.length }
}

const started = Date.now()
const target = await openTarget()
const rooms = Array.from({ length: ROOMS }, (_, i) => `room-${i}`)
try {
  for (let i = 0; i < rooms.length; i += 500) await Promise.all(rooms.slice(i, i + 500).map((id) => target.store.createRoom({ id })))
  await target.settle()
  const empty = await target.size()

  // ---- fill
  log(`${ENGINE}: filling ${MESSAGES} messages into ${ROOMS} rooms, batches of ${BATCH}; storage extensions: ${extensions.map((extension) => extension.name).join(', ')}`)
  const fillStarted = Date.now()
  let lastLog = fillStarted
  let filled = 0
  while (filled < MESSAGES && Date.now() - fillStarted < FILL_MS) {
    const count = Math.min(BATCH, MESSAGES - filled)
    const base = filled
    await Promise.all(Array.from({ length: count }, (_, j) => {
      const n = base + j
      const room = n % ROOMS
      return target.store.append(rooms[room]!, `user-${(room + (Math.floor(n / ROOMS) % 10) * 997) % 100_000}`, textOf())
    }))
    filled += count
    if (Date.now() - lastLog >= 10_000) {
      lastLog = Date.now()
      const rate = filled / ((lastLog - fillStarted) / 1000)
      log(`  ${filled} / ${MESSAGES} (${(100 * filled / MESSAGES).toFixed(1)} %), ${rate.toFixed(0)} messages/s, ${((MESSAGES - filled) / rate / 60).toFixed(1)} min to go`)
    }
  }
  const fillSeconds = (Date.now() - fillStarted) / 1000
  log(`filled ${filled} messages in ${fillSeconds.toFixed(0)} s (${(filled / fillSeconds).toFixed(0)} messages/s)${filled < MESSAGES ? `: STOPPED by --fill-minutes at ${filled} of ${MESSAGES}` : ''}`)
  const settleStarted = Date.now()
  await target.settle()
  const settleSeconds = (Date.now() - settleStarted) / 1000
  const full = await target.size()
  const perRoom = Math.floor(filled / ROOMS)

  // ---- reads
  const random = mulberry32(7)
  const anyRoom = () => rooms[Math.floor(random() * ROOMS)]!
  const someRooms = () => Array.from({ length: Math.min(SEARCH_ROOMS, ROOMS) }, () => anyRoom())
  const deepBefore = Math.max(2, Math.floor(perRoom / 10))
  const kinds: [string, () => Promise<number>][] = [
    [`history, newest ${PAGE}`, async () => (await target.store.history(anyRoom(), PAGE)).length],
    [`history, ${PAGE} before seq ${deepBefore}`, async () => (await target.store.history(anyRoom(), PAGE, deepBefore)).length],
    [`recovery, join with since = latest - ${PAGE}`, async () => {
      const room = anyRoom()
      const latest = await target.store.latestSeq(room)
      return (await target.store.recover(room, Math.max(0, latest - PAGE))).messages.length
    }],
    [`search "${FREQUENT}" (frequent), 1 room`, async () => (await target.search.search([anyRoom()], queryWords(FREQUENT), 20)).length],
    [`search "${RARE}" (rare), 1 room`, async () => (await target.search.search([anyRoom()], queryWords(RARE), 20)).length],
    [`search "${FREQUENT}" (frequent), ${Math.min(SEARCH_ROOMS, ROOMS)} rooms`, async () => (await target.search.search(someRooms(), queryWords(FREQUENT), 20)).length],
    [`search "${RARE}" (rare), ${Math.min(SEARCH_ROOMS, ROOMS)} rooms`, async () => (await target.search.search(someRooms(), queryWords(RARE), 20)).length]
  ]
  const latencies: Record<string, Latency> = {}
  for (const [name, pick] of kinds) {
    latencies[name] = await sample(pick)
    const l = latencies[name]
    log(`  ${name}: p50 ${l.p50.toFixed(3)} ms, p99 ${l.p99.toFixed(3)} ms, mean ${l.mean.toFixed(3)} ms (${l.requests} requests, ${l.results.toFixed(1)} results each)`)
  }

  // ---- report
  const bytesPerMessage = (full.bytes - empty.bytes) / filled
  const info = machine()
  log(`\n${ENGINE}, ${filled} messages in ${ROOMS} rooms (${perRoom} per room); ${info.cpuModel}, ${info.cores} cores, Node ${info.node}, load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  log(`fill ${fillSeconds.toFixed(0)} s (${(filled / fillSeconds).toFixed(0)} messages/s), settle (${ENGINE === 'postgres' ? 'VACUUM ANALYZE, CHECKPOINT' : ENGINE === 'sqlite' ? 'checkpoint' : 'nothing'}) ${settleSeconds.toFixed(0)} s`)
  log('\n| read | p50 (ms) | p99 (ms) | mean (ms) | requests | results each |\n|---|---:|---:|---:|---:|---:|')
  for (const [name, l] of Object.entries(latencies)) {
    log(`| ${name} | ${l.p50.toFixed(3)} | ${l.p99.toFixed(3)} | ${l.mean.toFixed(3)} | ${l.requests} | ${l.results.toFixed(1)} |`)
  }
  const what = ENGINE === 'redis' ? 'used_memory' : ENGINE === 'postgres' ? 'pg_database_size' : 'database file (after a TRUNCATE checkpoint)'
  log(`\nstorage: ${what} ${(empty.bytes / 1048576).toFixed(1)} MiB with the rooms only, ${(full.bytes / 1048576).toFixed(1)} MiB filled: ${bytesPerMessage.toFixed(0)} bytes per message`)
  for (const [name, bytes] of Object.entries(full.parts).slice(0, 12)) {
    if (bytes > 0) log(`  ${name}: ${(bytes / 1048576).toFixed(1)} MiB, ${((bytes - (empty.parts[name] ?? 0)) / filled).toFixed(1)} bytes per message`)
  }
  if (values.out !== undefined) {
    writeFileSync(values.out, JSON.stringify({
      engine: ENGINE,
      messages: filled,
      asked: MESSAGES,
      rooms: ROOMS,
      without: [...WITHOUT],
      fillSeconds,
      settleSeconds,
      bytesPerMessage,
      storage: { empty, full },
      latencies,
      machine: info,
      at: new Date().toISOString(),
      command: `node --import tsx bench/history-size.ts ${process.argv.slice(2).join(' ')}`
    }, null, 2) + '\n')
  }
} finally {
  await target.close()
}
log(`took ${((Date.now() - started) / 1000).toFixed(0)} s`)
process.exit(0)
