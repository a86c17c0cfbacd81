import type { PoolClient } from 'pg'
import type { StorageExtension } from '../../engine/extension.ts'
import { createPool } from '../../engine/postgres/connection.ts'
import { createPostgresStore } from '../../engine/postgres/store.ts'
import { MoveError, type MoveSource, reason, redact } from './source.ts'
import type { Column, Row, TableCopy } from './tables.ts'

/** Rows per INSERT statement. */
const BATCH = 1000

/** A failure of PostgreSQL, told as one line: an SQL error (it has a SQLSTATE) or a server that could not be reached. */
export function postgresFailure (url: string, err: unknown): MoveError {
  if (err instanceof MoveError) return err
  const code = (err as { code?: unknown }).code
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)
  return new MoveError(sqlState
    ? `PostgreSQL at ${redact(url)} refused: ${reason(err)}`
    : `cannot reach PostgreSQL at ${redact(url)}: ${reason(err)}`)
}

/**
 * Brings the target database to this release's schema, the core's and every feature's, as the
 * service does when it starts: the PostgreSQL store started with every feature's storage (each
 * registers its migrations), then closed. An empty database gets every table; one of this
 * release is left as it is; a newer one is refused.
 */
export async function migrateTarget (url: string, extensions: readonly StorageExtension[]): Promise<void> {
  const store = createPostgresStore({ url, defaultHistoryLimit: 1, poolSize: 2 })
  try {
    await store.start([...extensions])
  } catch (err) {
    // start() ends its pool when the migration fails; closing again only says so.
    await store.close().catch(() => {})
    throw postgresFailure(url, err)
  }
  await store.close()
}

const quote = (name: string) => `"${name}"`

/** A value as its column's array parameter takes it: SQLite's 0/1 as booleans, JSON as text. */
function valueFor (column: Column, value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (column.type === 'boolean') return Boolean(value)
  if (column.type === 'jsonb') return typeof value === 'string' ? value : JSON.stringify(value)
  return value
}

/**
 * Rows buffered per table and written in batches, every table's buffer in the order of the list
 * whenever one is full: the rooms of a batch go in before the rows that refer to them.
 */
class Writer {
  private readonly buffers = new Map<TableCopy, Row[]>()
  readonly counts = new Map<string, number>()

  constructor (private readonly client: PoolClient, private readonly tables: readonly TableCopy[], private readonly progress: (counts: ReadonlyMap<string, number>) => void) {}

  async add (table: TableCopy, rows: Row[]): Promise<void> {
    let buffer = this.buffers.get(table)
    if (buffer === undefined) this.buffers.set(table, buffer = [])
    for (const row of rows) buffer.push(row)
    if (buffer.length >= BATCH) await this.flush()
  }

  async flush (): Promise<void> {
    for (const table of this.tables) {
      const rows = this.buffers.get(table)
      if (rows === undefined || rows.length === 0) continue
      this.buffers.set(table, [])
      for (let start = 0; start < rows.length; start += BATCH) await this.insert(table, rows.slice(start, start + BATCH))
    }
    this.progress(this.counts)
  }

  /** One statement: each column as an array, unnested into rows. */
  private async insert (table: TableCopy, rows: Row[]): Promise<void> {
    const { columns } = table
    const values = columns.map((column, i) => rows.map((row) => valueFor(column, row[i])))
    await this.client.query(`INSERT INTO ${table.table} (${columns.map((column) => quote(column.name)).join(', ')})
      SELECT * FROM unnest(${columns.map((column, i) => `$${i + 1}::${column.type}[]`).join(', ')}) ${table.onConflict ?? ''}`, values)
    this.counts.set(table.table, (this.counts.get(table.table) ?? 0) + rows.length)
  }
}

/**
 * Copies every table of the source into the target in ONE transaction: the target holds all of
 * the deployment or, after any failure, nothing of it (a run can simply be repeated). PostgreSQL
 * has no limit on a transaction's size; the rows are streamed in batches, so memory stays
 * bounded here. The target must hold no room: a second run is refused, as is a database in use.
 */
export async function copyInto (url: string, source: MoveSource, tables: readonly TableCopy[],
  progress: (counts: ReadonlyMap<string, number>) => void): Promise<ReadonlyMap<string, number>> {
  const pool = createPool(url, 1)
  let client: PoolClient
  try {
    client = await pool.connect()
  } catch (err) {
    await pool.end()
    throw postgresFailure(url, err)
  }
  let failure: unknown
  try {
    await client.query('BEGIN')
    // Two runs at once, or a service writing meanwhile, wait for each other here (up to the timeout) rather than interleave.
    await client.query("SET LOCAL lock_timeout = '10s'")
    await client.query('LOCK TABLE rooms, webhook_outbox, webhook_failed IN SHARE ROW EXCLUSIVE MODE')
    const { rows: [held] } = await client.query<{ rooms: number, events: number }>(`SELECT (SELECT COUNT(*) FROM rooms) AS rooms,
      (SELECT COUNT(*) FROM webhook_outbox) + (SELECT COUNT(*) FROM webhook_failed) AS events`)
    if (held!.rooms > 0) {
      throw new MoveError(`the target database already holds ${held!.rooms} room(s): move only into an empty database (was it moved already?); nothing was written`)
    }
    if (held!.events > 0) throw new MoveError(`the target database holds ${held!.events} webhook event(s) and no room: move only into an empty database; nothing was written`)
    const writer = new Writer(client, tables, progress)
    for await (const chunk of source.chunks(tables)) await writer.add(chunk.table, chunk.rows)
    await writer.flush()
    // Serial columns go on after the values copied, and after any the source gave out once (a webhook seq is never reused).
    for (const table of tables) {
      if (table.serial === undefined) continue
      const { rows: [copied] } = await client.query<{ max: number }>(`SELECT COALESCE(MAX(${quote(table.serial)}), 0) AS max FROM ${table.table}`)
      const next = Math.max(copied!.max, source.highWater(table))
      if (next > 0) await client.query('SELECT setval(pg_get_serial_sequence($1, $2), $3)', [table.table, table.serial, next])
    }
    await client.query('COMMIT')
    return writer.counts
  } catch (err) {
    failure = err
    await client.query('ROLLBACK').catch(() => {})
    throw postgresFailure(url, err)
  } finally {
    client.release(failure !== undefined)
    await pool.end()
  }
}
