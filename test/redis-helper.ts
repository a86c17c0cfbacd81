import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import type { TestContext } from 'node:test'
import { eventually, freePort, tempDir } from './helper.ts'

/** True when the executable is on PATH. */
export function installed (command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

/**
 * Skips the test when a server it needs is not installed, unless the environment says it must
 * be there (`REQUIRE_REDIS=1`, `REQUIRE_NGINX=1`), in which case the test fails. Returns
 * whether the test can go on.
 */
export function requireCommand (t: TestContext, command: string, requireVariable: string, hint: string): boolean {
  if (installed(command)) return true
  if (process.env[requireVariable] === '1') throw new Error(`${command} is not installed and ${requireVariable}=1; ${hint}`)
  t.skip(`${command} is not installed (${hint}; set ${requireVariable}=1 to make this a failure)`)
  return false
}

export interface RedisServer {
  url: string
  port: number
  process: ChildProcess
  output: () => string
  /** Stops the server now (SIGKILL when `kill`), for tests of an outage. */
  stop: (kill?: boolean) => Promise<void>
}

async function stopProcess (child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/**
 * A real redis-server on a free loopback port, without persistence, in a temporary directory.
 * Resolves undefined (and the test is skipped) when redis-server is not installed. It is
 * stopped after the test's other after-hooks, so the apps using it close first.
 */
export async function startRedis (t: TestContext): Promise<RedisServer | undefined> {
  if (!requireCommand(t, 'redis-server', 'REQUIRE_REDIS', 'apt-get install redis-server')) return undefined
  const dir = tempDir(t)
  // A free port may be taken by another process before redis-server binds it: try another.
  for (let attempt = 1; ; attempt++) {
    const server = await launch(t, dir, await freePort())
    if (server !== 'port taken') return server
    if (attempt === 5) throw new Error('redis-server: 5 free ports were taken before it could bind them')
  }
}

async function launch (t: TestContext, dir: string, port: number): Promise<RedisServer | 'port taken'> {
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  const stop = async (kill = false) => {
    await stopProcess(child, kill ? 'SIGKILL' : 'SIGTERM')
    process.removeListener('exit', killOnExit)
  }
  const exited = new Promise<never>((_resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)))
  })
  exited.catch(() => {})
  try {
    await Promise.race([eventually(() => output.includes('Ready to accept connections'), 10_000, 'redis-server start'), exited])
  } catch (err) {
    child.kill('SIGKILL')
    process.removeListener('exit', killOnExit)
    if (output.includes('Address already in use')) return 'port taken'
    throw err
  }
  // After-hooks run in the order they were added; adding this one from a hook puts it last.
  t.after(() => { t.after(() => stop()) })
  return { url: `redis://127.0.0.1:${port}`, port, process: child, output: () => output, stop }
}
