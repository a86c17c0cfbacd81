import { writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { WebSocket } from 'ws'

/**
 * A session with another Node process's inspector. SIGUSR1 opens the inspector on the port
 * the process was given with --inspect-port; nothing listens before that. The benchmark
 * uses it to collect garbage before reading memory (every server gets the same treatment)
 * and to profile a server over the measured window only.
 */
export class InspectorSession {
  private ids = 0
  private readonly pending = new Map<number, { resolve: (result: unknown) => void, reject: (error: Error) => void }>()
  private readonly listeners = new Map<string, (params: unknown) => void>()

  private constructor (private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const reply = JSON.parse(data.toString()) as { id?: number, method?: string, params?: unknown, result?: unknown, error?: { message: string } }
      if (reply.method !== undefined) this.listeners.get(reply.method)?.(reply.params)
      const entry = reply.id === undefined ? undefined : this.pending.get(reply.id)
      if (entry === undefined) return
      this.pending.delete(reply.id!)
      if (reply.error !== undefined) entry.reject(new Error(reply.error.message))
      else entry.resolve(reply.result)
    })
    ws.on('close', () => {
      for (const entry of this.pending.values()) entry.reject(new Error('inspector session closed'))
      this.pending.clear()
    })
  }

  static async open (pid: number, inspectPort: number, timeoutMs = 15_000): Promise<InspectorSession> {
    const deadline = Date.now() + timeoutMs
    let target: string | undefined
    let signalled = false
    while (target === undefined) {
      try {
        const response = await fetch(`http://127.0.0.1:${inspectPort}/json/list`)
        const list = await response.json() as { webSocketDebuggerUrl?: string }[]
        target = list[0]?.webSocketDebuggerUrl
      } catch {
        if (!signalled) {
          process.kill(pid, 'SIGUSR1')
          signalled = true
        }
      }
      if (target === undefined) {
        if (Date.now() > deadline) throw new Error(`the inspector of process ${pid} did not open on port ${inspectPort}`)
        await sleep(50)
      }
    }
    const ws = new WebSocket(target, { perMessageDeflate: false })
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    ws.on('error', () => {})
    return new InspectorSession(ws)
  }

  send<T = unknown> (method: string, params: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = ++this.ids
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${method} timed out`))
      }, timeoutMs)
      this.pending.set(id, {
        resolve: (result) => {
          clearTimeout(timer)
          resolve(result as T)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        }
      })
      this.ws.send(JSON.stringify({ id, method, params }))
    })
  }

  /** Listens to one kind of event (one listener per method). */
  on (method: string, listener: (params: unknown) => void): void {
    this.listeners.set(method, listener)
  }

  close (): void {
    this.ws.terminate()
  }
}

/** V8's most thorough collection in another process. */
export async function collectGarbage (pid: number, inspectPort: number): Promise<void> {
  const session = await InspectorSession.open(pid, inspectPort)
  try {
    await session.send('HeapProfiler.collectGarbage')
  } finally {
    session.close()
  }
}

/** A CPU profile of another process between start() and stop(). */
export class RemoteProfiler {
  private constructor (private readonly session: InspectorSession) {}

  static async start (pid: number, inspectPort: number, intervalUs = 500): Promise<RemoteProfiler> {
    const session = await InspectorSession.open(pid, inspectPort)
    await session.send('Profiler.enable')
    await session.send('Profiler.setSamplingInterval', { interval: intervalUs })
    await session.send('Profiler.start')
    return new RemoteProfiler(session)
  }

  /** Stops profiling and writes the profile as a .cpuprofile file. */
  async stop (file: string): Promise<void> {
    try {
      const { profile } = await this.session.send<{ profile: unknown }>('Profiler.stop')
      writeFileSync(file, JSON.stringify(profile))
    } finally {
      this.session.close()
    }
  }
}
