import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import type BetterSqlite3 from 'better-sqlite3'

/** How often the WAL is copied into the database file. */
export const CHECKPOINT_INTERVAL_MS = 1000
/** Message writes wait at most this long for the second pass; a slow disk only skips a restart. */
const HOLD_LIMIT_MS = 250
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
 * Moves WAL checkpoints to a worker thread, once a second, in two passes.
 *
 * The first pass copies what the WAL holds while the store keeps writing. Under steady writes
 * it never finishes: commits land while it copies, and SQLite starts the WAL file over only
 * when a write begins with every frame copied. The WAL would grow without end (about 9 MB/s at
 * 1,000 messages/s), and every commit would write fresh file pages, which costs the kernel a
 * page allocation per frame instead of an overwrite of a cached page. So when the first pass
 * leaves frames behind, the store's message writes wait (the event loop does not: appends just
 * queue) for a second pass that copies the few frames written meanwhile, and the next commit
 * starts the WAL over.
 *
 * If the thread cannot run, the connection checkpoints itself again (SQLite's automatic
 * checkpoint).
 */
export function startCheckpointer (db: BetterSqlite3.Database, path: string, gate: WriteGate, intervalMs = CHECKPOINT_INTERVAL_MS) {
  const worker = new Worker(CHECKPOINT_WORKER, {
    eval: true,
    workerData: { path, driver: createRequire(import.meta.url).resolve('better-sqlite3') }
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
    const first = await pass()
    // `log` is the WAL's length when the pass began: commits made while it copied are not in
    // it, so any pass that found frames is followed by one that runs with no commit under way.
    if (running && first.error === undefined && first.log! > 0) {
      holding = true
      gate.hold()
      const limit = setTimeout(letGo, HOLD_LIMIT_MS)
      await pass()
      clearTimeout(limit)
      letGo()
    }
    if (running) timer = setTimeout(() => void checkpoint(), intervalMs).unref()
  }
  timer = setTimeout(() => void checkpoint(), intervalMs).unref()

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
