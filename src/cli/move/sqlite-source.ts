import BetterSqlite3, { type Database } from 'better-sqlite3'
import type { StorageExtension } from '../../engine/extension.ts'
import { SCHEMA_VERSION } from '../../engine/local/migrations.ts'
import { createSqliteStore } from '../../engine/local/sqlite-store.ts'
import { type Chunk, MoveError, type MoveSource, reason } from './source.ts'
import type { Row, TableCopy } from './tables.ts'

/** Rows per batch read. */
const BATCH = 1000

/** Each feature's schema version on SQLite in this release: what a fresh database reaches once every feature has migrated it. */
async function currentFeatureVersions (extensions: readonly StorageExtension[]): Promise<Map<string, number>> {
  const store = createSqliteStore({ path: ':memory:', defaultHistoryLimit: 1 })
  try {
    for (const extension of extensions) extension.local(store.storage)
    const rows = store.storage.db.prepare<[], { feature: string, version: number }>('SELECT feature, version FROM feature_versions').all()
    return new Map(rows.map((row) => [row.feature, row.version]))
  } finally {
    await store.close()
  }
}

/**
 * Checks that the file is at this release's schema, the core's and every feature's: rows are
 * read by this release's column names. Older or newer is refused, naming what to do.
 */
async function checkSchema (db: Database, path: string, extensions: readonly StorageExtension[]): Promise<void> {
  const core = db.pragma('user_version', { simple: true }) as number
  const upgrade = `start this release on it once (CHAT_DB=${path}) to upgrade it, stop it, then move it`
  if (core === 0) throw new MoveError(`the SQLite file ${path} holds no chat data (schema version 0)`)
  if (core < SCHEMA_VERSION) throw new MoveError(`the SQLite file ${path} is at schema version ${core}, older than this release's (${SCHEMA_VERSION}): ${upgrade}`)
  if (core > SCHEMA_VERSION) throw new MoveError(`the SQLite file ${path} is at schema version ${core}, newer than this release supports (${SCHEMA_VERSION}): run a newer release`)
  const found = new Map(db.prepare<[], { feature: string, version: number }>('SELECT feature, version FROM feature_versions').all()
    .map((row) => [row.feature, row.version]))
  for (const [feature, version] of await currentFeatureVersions(extensions)) {
    const has = found.get(feature) ?? 0
    if (has < version) throw new MoveError(`the SQLite file ${path} holds ${feature} at schema version ${has}, older than this release's (${version}): ${upgrade}`)
    if (has > version) throw new MoveError(`the SQLite file ${path} holds ${feature} at schema version ${has}, newer than this release supports (${version}): run a newer release`)
  }
}

/**
 * A SQLite file (CHAT_DB) as a source, opened read-only and read in one read transaction: one
 * consistent snapshot, whatever else has the file open (the service should be stopped anyway).
 */
export async function openSqliteSource (path: string, extensions: readonly StorageExtension[]): Promise<MoveSource> {
  let db: Database
  try {
    db = new BetterSqlite3(path, { readonly: true, fileMustExist: true })
    db.pragma('busy_timeout = 5000')
  } catch (err) {
    throw new MoveError(`cannot open the SQLite file ${path}: ${reason(err)}`)
  }
  try {
    await checkSchema(db, path, extensions)
    db.exec('BEGIN')
  } catch (err) {
    db.close()
    if (err instanceof MoveError) throw err
    throw new MoveError(`cannot read the SQLite file ${path}: ${reason(err)}`)
  }
  const count = (table: string) => db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).get()!.n

  return {
    description: `SQLite file ${path}`,
    async * chunks (tables): AsyncIterable<Chunk> {
      for (const table of tables) {
        if (table.sqlite === undefined) continue
        // Raw rows (arrays, in the query's column order). A statement's iterator stays open while
        // the batch is written; nothing else runs on this connection meanwhile.
        let rows: IterableIterator<Row>
        try {
          rows = db.prepare(table.sqlite).raw(true).iterate(...(table.sqliteArgs?.() ?? [])) as IterableIterator<Row>
        } catch (err) {
          throw new MoveError(`cannot read ${table.table} from the SQLite file ${path}: ${reason(err)}`)
        }
        let batch: Row[] = []
        for (;;) {
          let next: IteratorResult<Row>
          try {
            next = rows.next()
          } catch (err) {
            throw new MoveError(`cannot read ${table.table} from the SQLite file ${path}: ${reason(err)}`)
          }
          if (next.done === true) break
          batch.push(next.value)
          if (batch.length === BATCH) {
            yield { table, rows: batch }
            batch = []
          }
        }
        if (batch.length > 0) yield { table, rows: batch }
      }
    },
    highWater (table: TableCopy) {
      // AUTOINCREMENT's high-water mark: a seq the outbox gave once is never given again, even once its row is gone.
      return db.prepare<[string], { seq: number }>('SELECT seq FROM sqlite_sequence WHERE name = ?').get(table.table)?.seq ?? 0
    },
    async notes () {
      const notes: string[] = []
      const pending = count('webhook_outbox')
      if (pending > 0) notes.push(`${pending} webhook event(s) not yet delivered to every URL are moved with their progress: the service delivers them on PostgreSQL to the same CHAT_WEBHOOK_URLS`)
      return notes
    },
    async close () {
      if (!db.open) return
      if (db.inTransaction) db.exec('COMMIT')
      db.close()
    }
  }
}
