import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import ts from 'typescript'
import { freePort } from './ports.ts'
import { BENCH_SETTINGS, type PostgresServer, startPostgresServer } from './postgres.ts'
import { pathWithThisNode, SERVICE_ENTRY, serviceCommand } from './service-command.ts'
import { taskset } from './system.ts'

export const ROOT = new URL('../..', import.meta.url).pathname
const DIST = join(ROOT, 'dist', 'bench')

/**
 * The servers the benchmark can start: the service and its references; `service-pg` is the
 * service on PostgreSQL (CHAT_DATABASE_URL), `durable-pg` the durable reference on PostgreSQL.
 */
export type ServerKind = 'service' | 'bare' | 'durable' | 'socketio' | 'fastify' | 'service-pg' | 'durable-pg'

/** The targets that keep their data in PostgreSQL. */
export const POSTGRES_KINDS: readonly ServerKind[] = ['service-pg', 'durable-pg']

export interface ServerHandle {
  kind: ServerKind
  pid: number
  port: number
  /** Where the inspector opens on SIGUSR1 (see inspector.ts). */
  inspectPort: number
  httpUrl: string
  /** Where clients connect: ws://…/ws for our protocol, http://… for Socket.IO. */
  clientUrl: string
  /** The PostgreSQL server this one stores in (its postmaster's pid), for its CPU and memory. */
  database?: { pid: number }
  /** stdout and stderr so far (the last 64 KiB). */
  output: () => string
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop: (graceMs?: number) => Promise<void>
}

export interface StartOptions {
  /** The service's entry point; dist/src/server.js unless given. */
  serviceEntry?: string
  /** Core to pin the server to, when taskset exists. */
  cpu?: number
  /** More environment for the service (REDIS_URL for the Redis engine). */
  env?: Record<string, string>
  /** NODE_OPTIONS for this server, in place of BENCH_SERVER_NODE_OPTIONS (for the service, a --max-semi-space-size here overrides the launcher's). */
  nodeOptions?: string
}

/**
 * Transpiles the reference servers and the load generator to plain JavaScript under
 * dist/bench, so every server runs as `node file.js` the way the service itself does, with
 * no loader in the process.
 */
export function compileBench (): { servers: string, worker: string } {
  for (const folder of ['servers', 'load']) {
    const source = join(ROOT, 'bench', folder)
    const target = join(DIST, folder)
    mkdirSync(target, { recursive: true })
    for (const file of readdirSync(source).filter((name) => name.endsWith('.ts'))) {
      const { outputText } = ts.transpileModule(readFileSync(join(source, file), 'utf8'), {
        fileName: file,
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          rewriteRelativeImportExtensions: true,
          verbatimModuleSyntax: true
        }
      })
      writeFileSync(join(target, basename(file, '.ts') + '.js'), outputText)
    }
  }
  return { servers: join(DIST, 'servers'), worker: join(DIST, 'load', 'worker.js') }
}

function canConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

const running = new Set<ChildProcess>()

let postgres: Promise<PostgresServer> | undefined

/**
 * The PostgreSQL server of this bench run, started on first use with PostgreSQL's defaults
 * (fsync and synchronous_commit on) and pinned like the servers; each target's round gets a
 * database of its own on it, dropped when the round ends.
 */
export function benchPostgres (cpu?: number): Promise<PostgresServer> {
  postgres ??= startPostgresServer({ settings: BENCH_SETTINGS, cpu })
  return postgres
}

/** Stops the bench's PostgreSQL server, if one was started. */
export async function stopPostgres (): Promise<void> {
  const server = await postgres?.catch(() => undefined)
  postgres = undefined
  await server?.stop()
}

/** Kills every server still running; for the orchestrator's exit paths. */
export function killAll (): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

export async function startServer (kind: ServerKind, serversDir: string, options: StartOptions = {}): Promise<ServerHandle> {
  const port = await freePort()
  const inspectPort = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), `chat-bench-${kind}-`))
  const env: NodeJS.ProcessEnv = {
    // The service's launcher runs the same node as every reference.
    PATH: pathWithThisNode(), HOME: process.env.HOME, HOST: '127.0.0.1', PORT: String(port)
  }
  // Flags for the servers only (say --perf-basic-prof for perf), not for the bench's own processes.
  // The service starts through `npm start`'s launcher, which adds the flags of its engine unless
  // these name the same ones.
  const nodeOptions = (options.nodeOptions ?? process.env.BENCH_SERVER_NODE_OPTIONS ?? '').trim()
  if (nodeOptions !== '') env.NODE_OPTIONS = nodeOptions
  let script: string
  let database: { server: PostgresServer, url: string } | undefined
  if (POSTGRES_KINDS.includes(kind)) {
    const server = await benchPostgres(options.cpu)
    database = { server, url: await server.database() }
  }
  if (kind === 'service' || kind === 'service-pg') {
    script = options.serviceEntry ?? join(ROOT, SERVICE_ENTRY)
    Object.assign(env, {
      ...(database === undefined ? { CHAT_DB: join(dataDir, 'chat.sqlite') } : { CHAT_DATABASE_URL: database.url }),
      LOG_LEVEL: 'warn',
      CHAT_RATE_LIMIT: '0',
      CHAT_MSG_RATE: '1000000',
      CHAT_MAX_CONNECTIONS_PER_USER: '1000000',
      CHAT_SEND_BUFFER: String(64 * 1024 * 1024),
      ...options.env
    })
  } else {
    script = join(serversDir, { bare: 'bare-ws.js', durable: 'bare-ws.js', 'durable-pg': 'bare-ws.js', socketio: 'socketio.js', fastify: 'bare-fastify.js' }[kind])
    if (kind === 'fastify' || kind === 'durable') env.CHAT_DB = join(dataDir, 'chat.sqlite')
    if (database !== undefined) env.DATABASE_URL = database.url
    Object.assign(env, options.env)
  }
  // --inspect-port only says where the inspector would listen; it stays closed until SIGUSR1.
  const nodeArgs = [`--inspect-port=127.0.0.1:${inspectPort}`]
  const pin = taskset()
  const node = kind === 'service' || kind === 'service-pg' ? serviceCommand(ROOT, script, nodeArgs) : [process.execPath, ...nodeArgs, script]
  const command = [...(pin !== null && options.cpu !== undefined ? [pin, '-c', String(options.cpu)] : []), ...node]
  // The shell raises the open-file limit as far as it may, then becomes the server (same pid).
  const child = spawn('sh', ['-c', 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'bench-server', ...command], {
    cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']
  })
  running.add(child)
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-65536)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    running.delete(child)
    resolve()
  }))

  const deadline = Date.now() + 30_000
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      rmSync(dataDir, { recursive: true, force: true })
      await database?.server.dropDatabase(database.url).catch(() => {})
      throw new Error(`${kind} server exited before listening:\n${output}`)
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      rmSync(dataDir, { recursive: true, force: true })
      await database?.server.dropDatabase(database.url).catch(() => {})
      throw new Error(`${kind} server did not listen within 30 s:\n${output}`)
    }
    await sleep(50)
  }

  const httpUrl = `http://127.0.0.1:${port}`
  return {
    kind,
    pid: child.pid!,
    port,
    inspectPort,
    httpUrl,
    clientUrl: kind === 'socketio' ? httpUrl : `ws://127.0.0.1:${port}/ws`,
    database: database === undefined ? undefined : { pid: database.server.pid },
    output: () => output,
    async stop (graceMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        await exited
        clearTimeout(timer)
      }
      rmSync(dataDir, { recursive: true, force: true })
      await database?.server.dropDatabase(database.url).catch(() => {})
    }
  }
}

export interface RedisHandle {
  pid: number
  url: string
  stop: () => Promise<void>
}

/** A redis-server on a free loopback port, without persistence, pinned like the servers. */
export async function startRedisServer (options: { cpu?: number } = {}): Promise<RedisHandle> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'chat-bench-redis-'))
  const pin = taskset()
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
  const command = [...(pin !== null && options.cpu !== undefined ? [pin, '-c', String(options.cpu)] : []), 'redis-server', ...args]
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-16384) })
  child.stderr!.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-16384) })
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    running.delete(child)
    resolve()
  }))
  let failed = false
  child.once('error', () => { failed = true })
  const deadline = Date.now() + 10_000
  while (!(await canConnect(port))) {
    if (failed || child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`redis-server did not start (is it installed?):\n${output}`)
    }
    await sleep(50)
  }
  return {
    pid: child.pid!,
    url: `redis://127.0.0.1:${port}`,
    async stop () {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
