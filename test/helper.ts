import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { setTimeout as sleep } from 'node:timers/promises'
import type { DestinationStream } from 'pino'
import { WebSocket, type ClientOptions } from 'ws'
import { freePort } from '../bench/lib/ports.ts'
import { LAUNCHER, pathWithThisNode } from '../bench/lib/service-command.ts'
import fastifyWebsocket from '@fastify/websocket'
import Fastify from 'fastify'
import { buildApp } from '../src/app.ts'
import { configFrom } from '../src/config.ts'
import { optionName } from '../src/embedding.ts'
import chat from '../src/plugin.ts'

import { startPostgres } from './postgres-helper.ts'

/** Ports come from the bench's helper, which starts servers the same way. */
export { freePort, portIsFree } from '../bench/lib/ports.ts'

export const ROOT = new URL('..', import.meta.url).pathname

/** Frames as the tests see them: loose JSON objects. */
export type Frame = Record<string, any>

export type Overrides = Record<string, string | number | boolean | undefined>

export interface TestServer {
  app: FastifyInstance
  /** http://127.0.0.1:port */
  url: string
  /** ws://127.0.0.1:port/ws */
  wsUrl: string
}

/** Test defaults: an in-memory database, no logs, no per-IP limit. */
export const testDefaults: Overrides = { CHAT_DB: ':memory:', LOG_LEVEL: 'silent', CHAT_RATE_LIMIT: 0 }

/**
 * With CHAT_TEST_PREFIX=/chat, startServer mounts the service with its Fastify plugin under that
 * prefix in an app of another's (with its own routes and its own @fastify/websocket) instead:
 * test/embedding/through-plugin.test.ts runs a part of the suite that way.
 */
const MOUNT_PREFIX = process.env.CHAT_TEST_PREFIX

/**
 * With CHAT_TEST_ENGINE=postgres, a server started without an engine of its own (no CHAT_DB,
 * REDIS_URL or CHAT_DATABASE_URL among its overrides) runs on PostgreSQL, on a new database:
 * test/engine/postgres/suite.test.ts runs a part of the suite that way.
 */
const TEST_ENGINE = process.env.CHAT_TEST_ENGINE
const ENGINE_VARIABLES = ['CHAT_DB', 'REDIS_URL', 'REDIS_SENTINELS', 'CHAT_DATABASE_URL']

async function engineOverrides (t: TestContext, overrides: Overrides): Promise<Overrides> {
  if (TEST_ENGINE !== 'postgres' || ENGINE_VARIABLES.some((name) => overrides[name] !== undefined)) return {}
  const server = await startPostgres(t)
  if (server === undefined) throw new Error('CHAT_TEST_ENGINE=postgres, and PostgreSQL is not installed (apt-get install postgresql)')
  return { CHAT_DATABASE_URL: await server.database() }
}

/** Builds the whole app on a free loopback port; it is closed when the test ends. */
export async function startServer (t: TestContext, overrides: Overrides = {}, logStream?: DestinationStream): Promise<TestServer> {
  overrides = { ...await engineOverrides(t, overrides), ...overrides }
  if (MOUNT_PREFIX !== undefined) return await startMounted(t, MOUNT_PREFIX, { ...testDefaults, ...overrides }, logStream)
  const app = await buildApp(configFrom({ ...testDefaults, ...overrides }), { logStream })
  t.after(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { app, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws` }
}

/** The service through its plugin, under `prefix`, next to an app's own routes and WebSocket route. */
async function startMounted (t: TestContext, prefix: string, settings: Overrides, logStream?: DestinationStream): Promise<TestServer> {
  const app = Fastify({ logger: logStream === undefined ? false : { stream: logStream } })
  await app.register(fastifyWebsocket)
  app.get('/own', async () => ({ own: true }))
  app.get('/own/ws', { websocket: true }, (socket) => socket.send('own'))
  const options: Record<string, unknown> = {}
  for (const [variable, value] of Object.entries(settings)) {
    if (value !== undefined) options[optionName(variable)] = value
  }
  await app.register(chat, { prefix, ...options })
  t.after(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { app, url: `http://127.0.0.1:${port}${prefix}`, wsUrl: `ws://127.0.0.1:${port}${prefix}/ws` }
}

/** A log line as pino writes it. */
export type LogLine = Record<string, any>

export interface LogCapture {
  /** Pass to startServer: every line the app logs lands here. */
  stream: DestinationStream
  /** The raw text of every line so far. */
  text: () => string
  /** Every line so far, parsed (fails on a line that is not JSON). */
  lines: () => LogLine[]
}

/** Captures an app's log lines in memory. */
export function captureLogs (): LogCapture {
  const chunks: string[] = []
  const stream = new Writable({
    write (chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString())
      callback()
    }
  })
  const text = () => chunks.join('')
  return {
    stream,
    text,
    lines: () => text().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as LogLine)
  }
}

/** A temporary directory removed when the test ends. */
export function tempDir (t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-test-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * A real `ws` client that queues every frame it receives, so a test can wait for the next
 * frame matching a predicate without missing one that arrived early.
 */
export class TestClient {
  readonly ws: WebSocket
  readonly frames: Frame[] = []
  readonly closed: Promise<{ code: number, reason: string }>
  private waiters: { match: (frame: Frame) => boolean, resolve: (frame: Frame) => void }[] = []
  private refCounter = 0

  constructor (url: string, options: ClientOptions = {}) {
    this.ws = new WebSocket(url, options)
    this.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame
      const index = this.waiters.findIndex((waiter) => waiter.match(frame))
      if (index >= 0) {
        const [waiter] = this.waiters.splice(index, 1)
        waiter!.resolve(frame)
      } else {
        this.frames.push(frame)
      }
    })
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
    })
    this.ws.on('error', () => {})
  }

  /** Resolves with the next frame that matches (default: any), waiting up to `timeoutMs`. */
  next (match: ((frame: Frame) => boolean) | string = () => true, timeoutMs = 5000): Promise<Frame> {
    const predicate = typeof match === 'string' ? (frame: Frame) => frame.type === match : match
    const index = this.frames.findIndex(predicate)
    if (index >= 0) return Promise.resolve(this.frames.splice(index, 1)[0]!)
    return new Promise((resolve, reject) => {
      const waiter = {
        match: predicate,
        resolve: (frame: Frame) => {
          clearTimeout(timer)
          resolve(frame)
        }
      }
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(new Error(`no matching frame within ${timeoutMs} ms; queued: ${JSON.stringify(this.frames).slice(0, 500)}`))
      }, timeoutMs)
      this.waiters.push(waiter)
    })
  }

  /** Asserts nothing matching arrives within `ms`. */
  async nothing (match: ((frame: Frame) => boolean) | string = () => true, ms = 200): Promise<void> {
    try {
      const frame = await this.next(match, ms)
      throw new Error(`unexpected frame: ${JSON.stringify(frame)}`)
    } catch (err) {
      if ((err as Error).message.startsWith('unexpected frame')) throw err
    }
  }

  send (frame: Frame | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** Sends a frame with a fresh ref and resolves with the reply that echoes it. */
  request (frame: Frame, timeoutMs = 5000): Promise<Frame> {
    const ref = `r${++this.refCounter}`
    this.send({ ...frame, ref })
    return this.next((reply) => reply.ref === ref && reply.type !== 'message', timeoutMs)
  }

  async join (room: string, extra: Frame = {}): Promise<Frame> {
    const reply = await this.request({ type: 'join', room, ...extra })
    if (reply.type !== 'joined') throw new Error(`join ${room} failed: ${JSON.stringify(reply)}`)
    return reply
  }

  close (): void {
    this.ws.close()
  }
}

export interface UpgradeResult {
  /** 101 when the upgrade was accepted, else the HTTP status the server answered. */
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The JSON body of a refusal. */
  body?: Frame
  /** The client: open after a 101 (the caller closes it), closed after a refusal. */
  ws: WebSocket
}

/** Tries an upgrade and resolves with what the server answered; rejects on a network error. */
export function tryUpgrade (url: string, options: ClientOptions = {}): Promise<UpgradeResult> {
  const ws = new WebSocket(url, options)
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_request, response) => {
      let text = ''
      response.on('data', (chunk: Buffer) => { text += chunk.toString() })
      response.on('end', () => {
        let body: Frame | undefined
        try {
          body = JSON.parse(text) as Frame
        } catch {
          body = undefined
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, ws })
        ws.terminate()
      })
    })
    ws.on('open', () => resolve({ status: 101, headers: {}, ws }))
    ws.on('error', reject)
  })
}

/** Opens a client and resolves once its `welcome` frame arrived. */
export async function connect (url: string, options: ClientOptions = {}): Promise<{ client: TestClient, welcome: Frame }> {
  const client = new TestClient(url, options)
  const welcome = await client.next('welcome')
  return { client, welcome }
}

/** Connects as `user` in dev mode to any server, in-process or spawned, and closes the client when the test ends. */
export async function connectAs (t: TestContext, server: Pick<TestServer, 'wsUrl'>, user: string, options: ClientOptions = {}): Promise<TestClient> {
  const { client } = await connect(`${server.wsUrl}?user=${encodeURIComponent(user)}`, options)
  t.after(() => client.ws.terminate())
  return client
}

/** A REST call: JSON in, status and parsed JSON (or text) out. */
export async function http (base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  })
  const text = await response.text()
  let json: any
  try {
    json = text === '' ? undefined : JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, body: json, text }
}

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes. */
export async function eventually (check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(20)
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`)
}

export interface ServerProcess {
  child: ChildProcess
  url: string
  wsUrl: string
  output: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/**
 * Runs src/server.ts as a real process (for signals, restarts and start-up errors), on
 * `env.PORT` when given (a restart on the same address), else on a free port; through
 * `npm start`'s launcher (bin/engine-node) when `viaLauncher`.
 */
export async function spawnServer (t: TestContext, env: Record<string, string>, waitForListen = true, viaLauncher = false): Promise<ServerProcess> {
  const port = env.PORT ?? String(await freePort())
  const nodeArgs = ['--import', 'tsx', join(ROOT, 'src/server.ts')]
  const child = spawn(viaLauncher ? 'sh' : process.execPath, viaLauncher ? [join(ROOT, LAUNCHER), ...nodeArgs] : nodeArgs, {
    cwd: ROOT,
    env: { PATH: pathWithThisNode(), HOST: '127.0.0.1', LOG_LEVEL: 'info', CHAT_RATE_LIMIT: '0', ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }))
  })
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const server: ServerProcess = {
    child, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws`, output: () => output, exited
  }
  if (waitForListen) {
    await Promise.race([
      eventually(() => output.includes('Server listening'), 20_000, 'server start'),
      exited.then(({ code }) => { throw new Error(`server exited with ${code}: ${output}`) })
    ])
  }
  return server
}

/** A bound against hanging, not a speed requirement: loading the app under tsx takes seconds on a busy machine. */
export const REFUSAL_BOUND_MS = 60_000

/** Waits for the process to exit, failing (and killing it) if it has not within `ms`. */
export async function exitOf (server: ServerProcess, ms: number) {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      server.child.kill('SIGKILL')
      reject(new Error(`process still running after ${ms} ms; output:\n${server.output()}`))
    }, ms)
  })
  try {
    return await Promise.race([server.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}
