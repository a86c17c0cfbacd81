import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { freePort } from './ports.ts'
import { taskset } from './system.ts'

/**
 * A real PostgreSQL server on a free loopback port, for the bench and the tests (one launcher):
 * initdb in a temporary directory, as the `postgres` user when this process is root (PostgreSQL
 * refuses to run as root), stopped with this process. The bench runs it as installed, with
 * PostgreSQL's defaults (fsync on, synchronous_commit on, full_page_writes on: a commit is on
 * disk when it is answered); the tests pass settings that turn durability off.
 */

/** Where Debian's postgresql package puts its programs (not on PATH), or PATH itself; undefined when not installed. */
export function postgresBinDir (): string | undefined {
  const root = '/usr/lib/postgresql'
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((name) => existsSync(join(root, name, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a))
    if (versions.length > 0) return join(root, versions[0]!, 'bin')
  }
  const found = spawnSync('sh', ['-c', 'command -v postgres'], { encoding: 'utf8' })
  return found.status === 0 && found.stdout.trim() !== '' ? join(found.stdout.trim(), '..') : undefined
}

/** The uid and gid to run PostgreSQL as: it refuses to run as root, so as `postgres` when this is root. */
function runAs (): { uid: number, gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root, and there is no postgres user to run PostgreSQL as (apt-get install postgresql)')
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) }
}

/** Settings that make a test server fast and not durable (a test's data need not survive a crash). */
export const NOT_DURABLE: Record<string, string> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off'
}

export interface PostgresOptions {
  /** `-c name=value` settings beyond listen_addresses (PostgreSQL's defaults otherwise). */
  settings?: Record<string, string>
  /** Core to pin the server (and the backends it forks) to, when taskset exists. */
  cpu?: number
  /** initdb --no-sync: the cluster's files are not flushed at creation (tests). */
  noSyncInit?: boolean
}

export interface PostgresServer {
  port: number
  /** The postmaster's pid; every backend is its child. */
  pid: number
  /** A URL of the server's admin database. */
  adminUrl: string
  /** A new, empty database on the server; its URL. */
  database: () => Promise<string>
  /** Drops a database made by `database()` (its connections closed first). */
  dropDatabase: (url: string) => Promise<void>
  process: ChildProcess
  /** Stops the server (fast shutdown, then SIGKILL) and removes its directory. */
  stop: () => Promise<void>
}

/** The bench's settings: PostgreSQL's defaults but for enough connections for many pools. */
export const BENCH_SETTINGS: Record<string, string> = { max_connections: '300' }

export async function startPostgresServer (options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDir()
  if (bin === undefined) throw new Error('PostgreSQL is not installed (apt-get install postgresql)')
  const dir = mkdtempSync(join(tmpdir(), 'chat-pg-'))
  const user = runAs()
  if (user !== undefined) chownSync(dir, user.uid, user.gid)
  const data = join(dir, 'data')
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', ...(options.noSyncInit === true ? ['--no-sync'] : [])],
    { encoding: 'utf8', ...user, cwd: dir })
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`initdb failed: ${init.stderr}${init.stdout}`)
  }
  const settings = Object.entries({ listen_addresses: '127.0.0.1', ...options.settings }).flatMap(([name, value]) => ['-c', `${name}=${value}`])
  const pin = taskset()
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const command = [...(pin !== null && options.cpu !== undefined ? [pin, '-c', String(options.cpu)] : []),
      join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir, ...settings]
    const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...user, cwd: dir })
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-65536) })
    child.stderr!.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-65536) })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    const killOnExit = () => {
      child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
    process.once('exit', killOnExit)
    const deadline = Date.now() + 30_000
    while (!output.includes('ready to accept connections') && child.exitCode === null && child.signalCode === null) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL')
        process.removeListener('exit', killOnExit)
        rmSync(dir, { recursive: true, force: true })
        throw new Error(`PostgreSQL did not start within 30 s: ${output}`)
      }
      await sleep(20)
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      process.removeListener('exit', killOnExit)
      if (output.includes('already in use') && attempt < 5) continue
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`PostgreSQL exited with ${child.exitCode}: ${output}`)
    }
    // The server lives as long as this process and keeps it from nothing: the exit hook stops it.
    child.unref()
    for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref: () => void }).unref()
    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`
    const admin = async (sql: string) => {
      const client = new pg.Client({ connectionString: adminUrl })
      await client.connect()
      try {
        await client.query(sql)
      } finally {
        await client.end()
      }
    }
    let count = 0
    return {
      port,
      pid: child.pid!,
      adminUrl,
      process: child,
      async database () {
        const name = `chat_${process.pid}_${++count}`
        await admin(`CREATE DATABASE ${name}`)
        return `postgres://postgres@127.0.0.1:${port}/${name}`
      },
      async dropDatabase (url: string) {
        const name = new URL(url).pathname.slice(1)
        if (!/^chat_\d+_\d+$/.test(name)) throw new Error(`not a database of this launcher: ${name}`)
        await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      },
      async stop () {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGINT')
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
          await exited
          clearTimeout(timer)
        }
        process.removeListener('exit', killOnExit)
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}

/** The pids of a process and of its children (a postmaster's backends and workers), from /proc. */
export function processTree (root: number): number[] {
  const pids = [root]
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === root) pids.push(Number(entry))
    } catch {}
  }
  return pids
}

/** Proportional set size in KiB (shared pages split between the processes sharing them) of a process. */
export function processPssKiB (pid: number): number {
  try {
    const match = /^Pss:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))
    return match === null ? NaN : Number(match[1])
  } catch {
    return NaN
  }
}
