import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import type BetterSqlite3 from 'better-sqlite3'

/** How often the WAL is copied into the database file. */
export const CHECKPOINT_INTERVAL_MS = 1000
/** Message writes wait at most this long for the held pass; a slow disk only skips a restart. */
const HOLD_LIMIT_MS = 250
/** Passes made while writes go on after the first, each copying what landed during the one before. */
const CATCH_UP_PASSES = 3
/** New frames so few that the held pass may copy them: its sync then writes a handful of pages. */
const FEW_FRAMES = 16
/**
 * The checkpoint thread's nice value on Linux (where nice is per thread): lower priority than the
 * event loop, so that when both share one core a message arriving mid-pass is handled at once,
 * yet not the lowest, so a held pass still gets a tenth of a busy core and writes wait milliseconds.
 */
const CHECKPOINT_NICE = 10
/** The WAL file is cut back to this size when it restarts after a burst made it larger. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024

/**
 * The checkpoint thread's code: one PASSIVE checkpoint per request, answered with how far it
 * got. SQLite's automatic checkpoint runs inside a commit and fsyncs the database file, which on
 * the event loop shows as a latency spike for every client; a second connection on its own
 * thread copies the WAL into the database instead. PASSIVE never waits for the writer. It is
 * source text run with `eval` so that it loads the same way from TypeScript sources (tests) and
 * from the build, with better-sqlite3 resolved by the store.
 */
const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.path)
db.pragma('busy_timeout = 1000')
if (process.platform === 'linux') {
  try {
    const thread = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop())
    require('node:os').setPriority(thread, workerData.nice)
  } catch {}
}
parentPort.on('message', (message) => {
  let result
  try {
    const [{ log, checkpointed }] = db.pragma('wal_checkpoint(PASSIVE)')
    result = { log, checkpointed }
  } catch (err) {
    result = { error: err.message }
  }
  if (message !== 'close') return parentPort.postMessage(result)
  db.close()
  parentPort.close()
})
`

interface PassResult { log?: number, checkpointed?: number, error?: string }

/** What the checkpointer pauses while it finishes a checkpoint: the store's message writes. */
export interface WriteGate {
  hold (): void
  release (): void
}

/**
 * Moves WAL checkpoints to a worker thread, once a second, in a few passes.
 *
 * The first pass copies what the WAL holds while the store keeps writing. Under steady writes
 * it never finishes: commits land while it copies, and SQLite starts the WAL file over only
 * when a write begins with every frame copied. The WAL would grow without end (about 9 MB/s at
 * 1,000 messages/s), and every commit would write fresh file pages, which costs the kernel a
 * page allocation per frame instead of an overwrite of a cached page. So up to three more
 * passes copy what landed during the one before (the writes going on), until few frames
 * landed; then the store's message writes wait (the event loop does not: appends just queue)
 * for a last pass that copies the few frames written meanwhile, and the next commit starts the
 * WAL over.
 *
 * The thread runs at a lower priority than the event loop where the platform allows it, so the
 * copying takes only what the event loop leaves of a core they share.
 *
 * If the thread cannot run, the connection checkpoints itself again (SQLite's automatic
 * checkpoint).
 */
export function startCheckpointer (db: BetterSqlite3.Database, path: string, gate: WriteGate, intervalMs = CHECKPOINT_INTERVAL_MS) {
  const worker = new Worker(CHECKPOINT_WORKER, {
    eval: true,
    workerData: { path, driver: createRequire(import.meta.url).resolve('better-sqlite3'), nice: CHECKPOINT_NICE }
  })
  worker.unref()
  db.pragma('wal_autocheckpoint = 0')
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`)
  let running = true
  let holding = false
  let timer: NodeJS.Timeout | undefined
  let answer: ((result: PassResult) => void) | undefined

  const letGo = () => {
    if (!holding) return
    holding = false
    gate.release()
  }
  const fallBack = () => {
    clearTimeout(timer)
    letGo()
    answer?.({ error: 'checkpoint thread stopped' })
    if (!running) return
    running = false
    db.pragma('wal_autocheckpoint = 1000')
  }
  worker.on('error', fallBack)
  worker.on('exit', fallBack)
  worker.on('message', (result: PassResult) => {
    const settle = answer
    answer = undefined
    settle?.(result)
  })

  function pass (): Promise<PassResult> {
    return new Promise((resolve) => {
      answer = resolve
      worker.postMessage('pass')
    })
  }

  async function checkpoint (): Promise<void> {
    timer = undefined
    let last = await pass()
    // `log` is the WAL's length when a pass began: commits made while it copied are not in it.
    // Catch-up passes copy those while writes go on; each is shorter than the one before, so
    // fewer frames land under it. The held pass, the one messages wait for, then copies and
    // syncs only a few pages (its sync costs about 0.3 ms for 6 pages and 1 ms for 30 here).
    // eslint-disable-next-line no-unmodified-loop-condition -- stopping the checkpointer clears running while a pass is awaited
    for (let extra = 0; extra < CATCH_UP_PASSES && running && last.error === undefined && last.log! > 0; extra++) {
      const next = await pass()
      const landed = next.log! - last.log!
      last = next
      if (next.error !== undefined || landed <= FEW_FRAMES) break
    }
    // Any pass that found frames is followed by one that runs with no commit under way, so
    // that the next commit starts the WAL file over.
    if (running && last.error === undefined && last.log! > 0) {
      holding = true
      gate.hold()
      const limit = setTimeout(letGo, HOLD_LIMIT_MS)
      await pass()
      clearTimeout(limit)
      letGo()
    }
    if (running) timer = setTimeout(() => { void checkpoint() }, intervalMs).unref()
  }
  timer = setTimeout(() => { void checkpoint() }, intervalMs).unref()

  return {
    async stop (): Promise<void> {
      if (!running) return
      running = false
      clearTimeout(timer)
      letGo()
      const exited = new Promise((resolve) => worker.once('exit', resolve))
      worker.postMessage('close')
      await Promise.race([exited, sleep(2000).then(() => worker.terminate())])
    }
  }
}
