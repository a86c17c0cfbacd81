import { existsSync } from 'node:fs'
import { features } from '../../features/index.ts'
import { copyInto, migrateTarget } from './postgres-target.ts'
import { openRedisSource } from './redis-source.ts'
import { MoveError, type MoveSource, redact } from './source.ts'
import { openSqliteSource } from './sqlite-source.ts'
import { TABLES } from './tables.ts'

export interface MoveOptions {
  /** A SQLite file (CHAT_DB) or a redis:// (rediss://) URL. */
  from: string
  /** A postgres:// (postgresql://) URL: CHAT_DATABASE_URL of the deployment to be. */
  to: string
  /** Where progress lines go. */
  out: (line: string) => void
  /** At most one progress line per this long. */
  progressMs?: number
}

/** What the move leaves behind, by design: said at the end of every run. */
export const NOT_MOVED = 'not moved (short-lived or rebuilt): presence, typing, slow-mode timers, webhook leases; the search index is built by PostgreSQL'

const isRedisUrl = (from: string) => /^rediss?:\/\//i.test(from)

/** The target URL, checked before anything is opened. */
function checkTarget (to: string): void {
  let url: URL
  try {
    url = new URL(to)
  } catch {
    throw new MoveError(`--to: "${redact(to)}" is not a URL; expected postgres://user:password@host:5432/database`)
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new MoveError(`--to: expected a postgres:// URL, got ${url.protocol}//…`)
  }
}

async function openSource (from: string): Promise<MoveSource> {
  if (isRedisUrl(from)) {
    try {
      void new URL(from)
    } catch {
      throw new MoveError(`--from: "${redact(from)}" is not a valid redis:// URL`)
    }
    return await openRedisSource(from)
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(from)) {
    throw new MoveError(`--from: ${from.slice(0, from.indexOf(':'))}:// is not a source; expected a SQLite file or a redis:// URL`)
  }
  if (!existsSync(from)) throw new MoveError(`--from: no such file ${from} (expected a SQLite file or a redis:// URL)`)
  return await openSqliteSource(from, features.flatMap((feature) => feature.storage ?? []))
}

const summary = (counts: ReadonlyMap<string, number>) =>
  TABLES.filter((table) => (counts.get(table.table) ?? 0) > 0).map((table) => `${table.table} ${counts.get(table.table)}`).join(', ')

/**
 * Moves a deployment's data from SQLite or Redis into PostgreSQL: checks both ends, brings the
 * target to this release's schema, then copies every table in one transaction (postgres-target.ts).
 * Throws MoveError (one line for the operator) on any refusal or failure; nothing is then kept.
 */
export async function moveToPostgres (options: MoveOptions): Promise<ReadonlyMap<string, number>> {
  const { from, to, out } = options
  checkTarget(to)
  const source = await openSource(from)
  try {
    out(`from ${source.description}`)
    for (const note of await source.notes()) out(`note: ${note}`)
    await migrateTarget(to, features.flatMap((feature) => feature.storage ?? []))
    out(`to PostgreSQL at ${redact(to)}: schema brought to this release`)
    out('copying in one transaction: the target keeps everything or nothing')
    const started = Date.now()
    let shown = started
    const counts = await copyInto(to, source, TABLES, (copied) => {
      if (Date.now() - shown < (options.progressMs ?? 2000)) return
      shown = Date.now()
      out(`  copied so far: ${summary(copied)}`)
    })
    out(`committed in ${((Date.now() - started) / 1000).toFixed(1)} s: ${summary(counts) || 'nothing'}`)
    out(NOT_MOVED)
    return counts
  } finally {
    await source.close()
  }
}
