import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { copyFileSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { WebSocket } from 'ws'
import { ConfigSchema } from '../../src/config.ts'
import { eventually, freePort, http, ROOT, tempDir } from '../helper.ts'

const run = promisify(execFile)
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

/** The repository's files (tracked, and new ones not ignored) copied to `dir`, with its node_modules linked: a clean build there. */
async function cleanCopy (dir: string): Promise<void> {
  const { stdout } = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 })
  for (const file of stdout.split('\0').filter((name) => name !== '')) {
    mkdirSync(join(dir, file, '..'), { recursive: true })
    try {
      copyFileSync(join(ROOT, file), join(dir, file))
    } catch {} // a file deleted but not yet committed
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
}

function started (child: ChildProcess): () => string {
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
  return () => output
}

/** Stops a process as a terminal's Ctrl-C does (SIGINT to its process group, when it leads one), or with `signal`; resolves its exit code. */
async function stopped (child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', group = false): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  if (group) process.kill(-child.pid!, signal)
  else child.kill(signal)
  return await exit
}

function firstFrame (url: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers })
    socket.once('message', (data) => { resolve(JSON.parse(data.toString()) as Record<string, unknown>); socket.close() })
    socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)))
    socket.once('error', reject)
  })
}

test('npm pack makes a package that, installed in an empty directory, runs as `npx fastify-chat` and as a plugin, and exports ./client', { timeout: 900_000 }, async (t) => {
  const dir = tempDir(t)
  const source = join(dir, 'source')
  await cleanCopy(source)
  // npm pack runs prepack: the build, from scratch here.
  await run('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: source, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 })
  const tarball = join(dir, `fastify-chat-${version}.tgz`)

  await t.test('the package holds the built service, pages, client, types and command; not the sources, tests or benchmarks', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball], { maxBuffer: 16 * 1024 * 1024 })
    const files = stdout.split('\n').filter((line) => line !== '').map((line) => line.replace(/^package\//, ''))
    for (const file of ['package.json', 'README.md', 'LICENSE', 'bin/fastify-chat.js', 'dist/src/plugin.js', 'dist/src/plugin.d.ts',
      'dist/src/server.js', 'dist/src/client/index.js', 'dist/src/client/index.d.ts', 'dist/public/index.html', 'dist/public/admin/index.html']) {
      assert.ok(files.includes(file), `${file} is in the package`)
    }
    const strays = files.filter((file) => /^(test|bench|examples|scripts|src|plugins|routes)\//.test(file) || file.startsWith('dist/test') || file.startsWith('dist/bench') || /\.ts$/.test(file.replace(/\.d\.ts$/, '')))
    assert.deepEqual(strays, [])
  })

  const app = join(dir, 'app')
  mkdirSync(app)
  // npm 11 runs a dependency's install script only when allowed: better-sqlite3 builds its native module there.
  writeFileSync(join(app, 'package.json'), JSON.stringify({
    name: 'an-app', private: true, type: 'module', allowScripts: { 'better-sqlite3': true, bufferutil: true, 'utf-8-validate': true }
  }))
  await run('npm', ['install', tarball, 'fastify@5.12.8', '@fastify/websocket@11.3.6', '--no-audit', '--no-fund', '--prefer-offline'],
    { cwd: app, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 })

  await t.test('npx fastify-chat --help lists every option; --version; an unknown argument is refused', async () => {
    const help = (await run('npx', ['fastify-chat', '--help'], { cwd: app })).stdout
    for (const variable of Object.keys(ConfigSchema.properties)) assert.match(help, new RegExp(`^  ${variable} `, 'm'), `${variable} listed`)
    assert.match(help, /plugin option: historyLimit/)
    assert.equal((await run('npx', ['fastify-chat', '--version'], { cwd: app })).stdout.trim(), version)
    await assert.rejects(run('npx', ['fastify-chat', '--port=4000'], { cwd: app }), (err: { code?: number, stderr?: string }) =>
      err.code === 2 && /unknown argument --port=4000/.test(err.stderr ?? ''))
  })

  await t.test('npx fastify-chat serves the API, the WebSocket, the pages and the client; Ctrl-C stops it cleanly', async (tt) => {
    const port = await freePort()
    // In a process group of its own, as in a terminal.
    const child = spawn('npx', ['fastify-chat'], {
      cwd: app, env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', CHAT_DB: join(dir, 'command.sqlite'), LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true
    })
    const output = started(child)
    tt.after(() => stopped(child, 'SIGKILL', true))
    const base = `http://127.0.0.1:${port}`
    await eventually(async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok === true, 30_000, `the command serves (${output()})`)
    assert.match((await http(base, 'GET', '/')).text, /aria-label="Messages"/)
    // The SDK from the package's ./client export, run by Node in the app's directory.
    writeFileSync(join(app, 'client.mjs'), `
      import { ChatClient } from 'fastify-chat/client'
      import { WebSocket } from 'ws'
      const chat = new ChatClient({ url: process.argv[2], user: 'alice', WebSocket })
      await chat.connect()
      await chat.join('lobby')
      const ack = await chat.send('lobby', 'hello from the installed SDK')
      console.log(JSON.stringify(ack))
      chat.close()`)
    const ack = JSON.parse((await run(process.execPath, ['client.mjs', `ws://127.0.0.1:${port}/ws`], { cwd: app, timeout: 30_000 })).stdout) as { seq: number }
    assert.equal(ack.seq, 1)
    assert.deepEqual((await http(base, 'GET', '/rooms/lobby/messages')).body.messages.map((m: { text: string }) => m.text), ['hello from the installed SDK'])
    // Ctrl-C: the command passes it on once; the service closes and lets go of its port.
    await stopped(child, 'SIGINT', true)
    await eventually(async () => await fetch(`${base}/healthz`).then(() => false, () => true), 15_000, 'the service stopped')
    assert.match(output(), /shutting down/)
  })

  await t.test('examples/fastify-app: an app of its own with the chat under /chat, its user the chat user', async (tt) => {
    copyFileSync(join(ROOT, 'examples', 'fastify-app', 'server.js'), join(app, 'server.js'))
    const port = await freePort()
    const child = spawn(process.execPath, ['server.js'], {
      cwd: app, env: { ...process.env, PORT: String(port), CHAT_DB: join(dir, 'app.sqlite'), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe']
    })
    const output = started(child)
    tt.after(() => stopped(child))
    const base = `http://127.0.0.1:${port}`
    await eventually(async () => (await fetch(`${base}/chat/healthz`).catch(() => undefined))?.ok === true, 30_000, `the app serves (${output()})`)
    const login = await fetch(`${base}/login?user=alice`, { redirect: 'manual' })
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!
    assert.match(cookie, /^session=[0-9a-f]+$/)
    assert.match(await (await fetch(`${base}/`, { headers: { cookie } })).text(), /Signed in as alice/)
    const welcome = await firstFrame(`ws://127.0.0.1:${port}/chat/ws`, { cookie })
    assert.deepEqual([welcome.type, welcome.user], ['welcome', 'alice'])
    await assert.rejects(firstFrame(`ws://127.0.0.1:${port}/chat/ws`), /HTTP 401/, 'not signed in to the app')
    assert.equal((await http(base, 'GET', '/chat/client-config')).body.auth, 'app')
    assert.equal((await http(base, 'GET', '/chat/rooms/lobby')).body.name, 'Lobby', 'made by the app through app.chat')
    const clock = await new Promise<string>((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/clock`)
      socket.once('message', (data) => { resolve(data.toString()); socket.close() })
      socket.once('error', reject)
    })
    assert.ok(!Number.isNaN(Date.parse(clock)), 'the app\'s own WebSocket route')
    assert.equal(await stopped(child), 0, output())
  })

  await t.test('examples/sdk-frontend: the SDK alone bundles for the browser', async () => {
    cpSync(join(ROOT, 'examples', 'sdk-frontend', 'main.js'), join(app, 'main.js'))
    const esbuild = join(ROOT, 'node_modules', '.bin', 'esbuild')
    await run(esbuild, ['main.js', '--bundle', '--format=esm', '--platform=browser', '--outfile=app.js', '--log-level=error'], { cwd: app })
    const bundle = readFileSync(join(app, 'app.js'), 'utf8')
    const modules = [...bundle.matchAll(/^\/\/ (\S+\.js)$/gm)].map((match) => match[1]!)
    assert.ok(modules.includes('node_modules/fastify-chat/dist/src/client/chat-client.js'), modules.join(', '))
    assert.deepEqual(modules.filter((module) => !module.startsWith('node_modules/fastify-chat/dist/src/client/') && module !== 'main.js'), [],
      'the SDK and the page only')
    assert.doesNotMatch(bundle, /from\s*["']node:|require\(["']/, 'nothing of Node in the bundle')
  })
})
