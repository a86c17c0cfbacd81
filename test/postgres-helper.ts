import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import pg from 'pg'
import { eventually, freePort } from './helper.ts'

/** Where Debian's postgresql package puts its programs (not on PATH), or PATH itself. */
function binDir (): string | undefined {
  const root = '/usr/lib/postgresql'
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((name) => existsSync(join(root, name, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a))
    if (versions.length > 0) return join(root, versions[0]!, 'bin')
  }
  const found = spawnSync('sh', ['-c', 'command -v postgres'], { encoding: 'utf8' })
  return found.status === 0 ? join(found.stdout.trim(), '..') : undefined
}

/** The uid and gid to run PostgreSQL as: it refuses to run as root, so as `postgres` when this is root. */
function runAs (): { uid: number, gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root, and there is no postgres user to run PostgreSQL as (apt-get install postgresql)')
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) }
}

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
 * A real PostgreSQL server for this test process: initdb in a temporary directory (as the
 * `postgres` user when this is root), started on a free loopback port with durability off (a
 * test's data need not survive a crash), stopped when the process exits. Each test asks it for
 * databases of its own. Resolves undefined (and the test is skipped) when PostgreSQL is not
 * installed, unless REQUIRE_POSTGRES=1 makes that a failure.
 */
export async function startPostgres (t: TestContext): Promise<PostgresServer | undefined> {
  const bin = binDir()
  if (bin === undefined) {
    if (process.env.REQUIRE_POSTGRES === '1') throw new Error('PostgreSQL is not installed and REQUIRE_POSTGRES=1; apt-get install postgresql')
    t.skip('PostgreSQL is not installed (apt-get install postgresql; set REQUIRE_POSTGRES=1 to make this a failure)')
    return undefined
  }
  shared ??= launch(bin)
  return await shared
}

async function launch (bin: string): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-pg-'))
  const user = runAs()
  if (user !== undefined) chownSync(dir, user.uid, user.gid)
  const data = join(dir, 'data')
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'],
    { encoding: 'utf8', ...user, cwd: dir })
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}${init.stdout}`)
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const child = spawn(join(bin, 'postgres'), [
      '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off',
      '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300', '-c', 'shared_buffers=64MB'
    ], { stdio: ['ignore', 'pipe', 'pipe'], ...user, cwd: dir })
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const killOnExit = () => {
      child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
    process.once('exit', killOnExit)
    try {
      await eventually(() => output.includes('ready to accept connections') || child.exitCode !== null, 20_000, 'PostgreSQL start')
    } catch (err) {
      child.kill('SIGKILL')
      throw err
    }
    if (child.exitCode !== null) {
      process.removeListener('exit', killOnExit)
      if (output.includes('already in use') && attempt < 5) continue
      throw new Error(`PostgreSQL exited with ${child.exitCode}: ${output}`)
    }
    // The server lives as long as the test process and keeps it from nothing: the exit hook stops it.
    child.unref()
    for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref: () => void }).unref()
    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`
    let count = 0
    return {
      port,
      adminUrl,
      process: child,
      async database () {
        const name = `chat_${process.pid}_${++count}`
        const admin = new pg.Client({ connectionString: adminUrl })
        await admin.connect()
        try {
          await admin.query(`CREATE DATABASE ${name}`)
        } finally {
          await admin.end()
        }
        return `postgres://postgres@127.0.0.1:${port}/${name}`
      }
    }
  }
}
