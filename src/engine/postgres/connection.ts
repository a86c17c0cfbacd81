import pg from 'pg'

/** PostgreSQL's type ids of the integers node-postgres would otherwise return as strings. */
const INT8 = 20

/** bigint columns (seqs, outbox ids) as numbers: every seq of the contract is well below 2^53. */
const parseInt8 = (value: string) => Number(value)

/**
 * The pool of one engine. node-postgres is the PostgreSQL client of Node's ecosystem (pg), the
 * one Fastify's own @fastify/postgres wraps; its pool hands a transaction one connection, and
 * its queries are plain strings with parameters, which the features' stores write as SQL.
 */
export function createPool (url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    // A lost server fails a query within this long rather than hanging the chat.
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => oid === INT8 ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser
    }
  })
  // An idle connection that breaks is dropped by the pool; the next query opens another.
  pool.on('error', () => {})
  return pool
}
