import type { ChildProcess } from 'node:child_process'
import type { TestContext } from 'node:test'
import { NOT_DURABLE, postgresBinDir, startPostgresServer } from '../bench/lib/postgres.ts'

export interface PostgresServer {
  port: number
  /** A URL of the server's admin database, for tests that look inside. */
  adminUrl: string
  /** A new, empty database on the server; its URL. */
  database: () => Promise<string>
  process: ChildProcess
}

let shared: Promise<PostgresServer> | undefined

/**
 * A real PostgreSQL server for this test process, started by the bench's launcher
 * (bench/lib/postgres.ts) with durability off (a test's data need not survive a crash) and
 * stopped when the process exits. Each test asks it for databases of its own. Resolves undefined
 * (and the test is skipped) when PostgreSQL is not installed, unless REQUIRE_POSTGRES=1 makes
 * that a failure.
 */
export async function startPostgres (t: TestContext): Promise<PostgresServer | undefined> {
  if (postgresBinDir() === undefined) {
    if (process.env.REQUIRE_POSTGRES === '1') throw new Error('PostgreSQL is not installed and REQUIRE_POSTGRES=1; apt-get install postgresql')
    t.skip('PostgreSQL is not installed (apt-get install postgresql; set REQUIRE_POSTGRES=1 to make this a failure)')
    return undefined
  }
  shared ??= startPostgresServer({
    settings: { ...NOT_DURABLE, max_connections: '300', shared_buffers: '64MB' },
    noSyncInit: true
  }).then(({ port, adminUrl, database, process }) => ({ port, adminUrl, database, process }))
  return await shared
}
