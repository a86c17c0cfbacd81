import { Worker } from 'node:worker_threads'
import type {
  ChatMix, ClientSpec, Collected, Command, ConnectResult, Counts, Reply, Request, SendResult, Wire
} from './protocol.ts'

/** The orchestrator's handle on one load-generator thread. */
export class LoadWorker {
  private readonly worker: Worker
  private readonly pending = new Map<number, { resolve: (value: unknown) => void, reject: (error: Error) => void }>()
  private ids = 0
  private failure: Error | undefined

  constructor (script: string) {
    this.worker = new Worker(script)
    this.worker.on('message', (reply: Reply) => {
      const entry = this.pending.get(reply.id)
      if (entry === undefined) return
      this.pending.delete(reply.id)
      if (reply.ok) entry.resolve(reply.result)
      else entry.reject(new Error(reply.error))
    })
    const fail = (error: Error) => {
      this.failure = error
      for (const entry of this.pending.values()) entry.reject(error)
      this.pending.clear()
    }
    this.worker.on('error', fail)
    this.worker.on('exit', (code) => fail(new Error(`load worker exited with ${code}`)))
  }

  private call<T> (command: Command): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    const id = ++this.ids
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      const request: Request = { id, command }
      this.worker.postMessage(request)
    })
  }

  connect (wire: Wire, url: string, clients: ClientSpec[], concurrency: number, timeoutMs: number): Promise<ConnectResult> {
    return this.call({ cmd: 'connect', wire, url, clients, concurrency, timeoutMs })
  }

  reset (): Promise<void> {
    return this.call({ cmd: 'reset' })
  }

  burst (count: number, window: number, timeoutMs: number): Promise<SendResult> {
    return this.call({ cmd: 'burst', count, window, timeoutMs })
  }

  steady (startAt: number, durationMs: number, intervalMs: number, phases: number[], ackTimeoutMs: number): Promise<SendResult> {
    return this.call({ cmd: 'steady', startAt, durationMs, intervalMs, phases, ackTimeoutMs })
  }

  chat (startAt: number, durationMs: number, intervalMs: number, phases: number[], ackTimeoutMs: number, mix: ChatMix): Promise<SendResult> {
    return this.call({ cmd: 'chat', startAt, durationMs, intervalMs, phases, ackTimeoutMs, ...mix })
  }

  counts (): Promise<Counts> {
    return this.call({ cmd: 'counts' })
  }

  collect (): Promise<Collected> {
    return this.call({ cmd: 'collect' })
  }

  close (): Promise<void> {
    return this.call({ cmd: 'close' })
  }

  terminate (): Promise<number> {
    return this.worker.terminate()
  }
}

/** Splits `items` into `parts` nearly equal consecutive slices. */
export function split<T> (items: T[], parts: number): T[][] {
  const slices: T[][] = []
  for (let i = 0; i < parts; i++) {
    slices.push(items.slice(Math.floor(i * items.length / parts), Math.floor((i + 1) * items.length / parts)))
  }
  return slices
}

/** Sums the counters of several workers. */
export function addCounts (all: Counts[]): Counts {
  const total: Counts = { received: 0, lastAt: 0, dropped: 0, open: 0, errors: 0 }
  for (const counts of all) {
    total.received += counts.received
    total.lastAt = Math.max(total.lastAt, counts.lastAt)
    total.dropped += counts.dropped
    total.open += counts.open
    total.errors += counts.errors
    total.firstError ??= counts.firstError
  }
  return total
}
