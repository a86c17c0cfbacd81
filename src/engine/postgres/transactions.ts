import type { Pool, PoolClient } from 'pg'
import type { Sql } from './storage.ts'

/** A transaction's connection, with what is to run once it has committed. */
export class Tx implements Sql {
  private readonly done: (() => void)[] = []

  constructor (private readonly client: PoolClient) {}

  query<R> (text: string, values?: unknown[]) {
    return this.client.query(text, values) as unknown as Promise<{ rows: R[], rowCount: number | null }>
  }

  /** Runs `action` once the transaction has committed (never when it rolls back). */
  afterCommit (action: () => void): void {
    this.done.push(action)
  }

  committed (): void {
    for (const action of this.done) action()
  }
}

/** SQLSTATEs after which the whole transaction may simply run again. */
const RETRYABLE = new Set(['40P01', '40001'])
const ATTEMPTS = 3

/**
 * Runs `work` in a transaction on a connection of its own, and again (up to 3 times) when
 * PostgreSQL broke a deadlock or a serialization conflict by cancelling it: nothing of a
 * cancelled attempt was stored. Resolves with its result once committed.
 */
export async function inTransaction<T> (pool: Pool, work: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect()
    const tx = new Tx(client)
    let broken = false
    try {
      await client.query('BEGIN')
      const result = await work(tx)
      await client.query('COMMIT')
      tx.committed()
      return result
    } catch (err) {
      await client.query('ROLLBACK').catch(() => { broken = true })
      if (attempt < ATTEMPTS && RETRYABLE.has((err as { code?: string }).code ?? '')) continue
      throw err
    } finally {
      client.release(broken)
    }
  }
}
