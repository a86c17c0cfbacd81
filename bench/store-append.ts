/**
 * What one stored message costs the SQLite store alone, with and without a `clientId` (the
 * SDK sends one with every message, the load of `npm run bench` none): messages appended one
 * at a time into 100 rooms, each its own transaction as at 1000 messages a second spread
 * evenly, through the store itself, its checkpoint thread running.
 *
 *   node --import tsx bench/store-append.ts [--messages 10000] [--rounds 3] [--ttl-ms N]
 *
 * `--ttl-ms` shortens how long a clientId is remembered (CLIENT_ID_TTL_MS), so that clientIds
 * expire all through the round, as in a service up for longer than that.
 *
 * Reported per message, median of the rounds (alternating with and without): the process's
 * CPU (user and system, every thread) and the wall time of the append.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createSqliteStore } from '../src/engine/local/sqlite-store.ts'
import { readStorage } from '../src/features/read-state/storage.ts'

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '3' },
    'ttl-ms': { type: 'string' }
  }
})
const MESSAGES = Number(values.messages)
const ROUNDS = Number(values.rounds)
const TTL_MS = values['ttl-ms'] === undefined ? undefined : Number(values['ttl-ms'])
const ROOMS = 100
const USERS = 10
const WARMUP = 2000

interface Sample { userUs: number, systemUs: number, wallUs: number }

async function round (withClientId: boolean): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-store-append-'))
  const store = createSqliteStore({ path: join(dir, 'chat.sqlite'), defaultHistoryLimit: 1000, clientIdTtlMs: TTL_MS })
  // The read state's hook moves each sender's read seq with its message, as the service does.
  readStorage.local(store.storage)
  try {
    for (let room = 0; room < ROOMS; room++) await store.createRoom({ id: `room-${room}` })
    let sent = 0
    const append = () => {
      const n = sent++
      const clientId = withClientId ? `c-${n}-${Math.random().toString(36).slice(2, 10)}` : undefined
      return store.append(`room-${n % ROOMS}`, `user-${(n * 7) % USERS}`, `message ${n} from the store bench`, { clientId })
    }
    for (let i = 0; i < WARMUP; i++) await append()
    const cpu = process.cpuUsage()
    const started = performance.now()
    for (let i = 0; i < MESSAGES; i++) await append()
    const wall = performance.now() - started
    const used = process.cpuUsage(cpu)
    return { userUs: used.user / MESSAGES, systemUs: used.system / MESSAGES, wallUs: wall * 1000 / MESSAGES }
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const samples: Record<'with' | 'without', Sample[]> = { with: [], without: [] }
for (let i = 0; i < ROUNDS; i++) {
  samples.with.push(await round(true))
  samples.without.push(await round(false))
}
const ttl = TTL_MS === undefined ? '' : `, clientIds remembered for ${TTL_MS} ms`
console.log(`${MESSAGES} messages per round, ${ROUNDS} rounds${ttl}; µs per message, median (min–max)`)
for (const [name, list] of Object.entries(samples)) {
  const figure = (key: keyof Sample) => {
    const values = list.map((sample) => sample[key])
    return `${median(values).toFixed(1)} (${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)})`
  }
  console.log(`${name.padEnd(8)} clientId: CPU user ${figure('userUs')}, system ${figure('systemUs')}; wall ${figure('wallUs')}`)
}
