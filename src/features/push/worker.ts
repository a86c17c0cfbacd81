import type { EngineLog } from '../../shared/log.ts'
import type { PushSender } from './sender.ts'
import type { Made, PushStore } from './store.ts'

export interface WorkerOptions {
  store: PushStore
  /** Absent: Web Push is not configured, and only windows' ends are made due (for notification.due). */
  sender?: PushSender
  windowMs: number
  log: EngineLog
  made: (made: Made) => void
}

/** Deliveries taken per look. */
const BATCH = 128
/** A delivery taken by a node that then dies is taken again after this long. */
const LEASE_MS = 60_000
/** Ended windows made due per look: each look is one transaction, kept short so chat is not held up behind it. */
const FLUSH_BATCH = 100

/**
 * Each node's push work: it makes due the notifications whose window ended and sends the
 * deliveries due, every `interval` (a quarter of the window, between 50 ms and 1 s, so a
 * window's end is late by at most that), and at once when this node queued something. Every
 * node does this; the store's steps give each notification and delivery to one of them.
 */
export class PushWorker {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private again = false
  private closed = false
  private readonly interval: number

  constructor (private readonly options: WorkerOptions) {
    this.interval = Math.min(1000, Math.max(50, Math.floor(options.windowMs / 4)))
  }

  start (): void {
    this.schedule(0)
  }

  /** Something was queued on this node: look now rather than at the next tick. */
  wake (): void {
    if (this.closed) return
    if (this.running !== undefined) {
      this.again = true
      return
    }
    this.schedule(0)
  }

  /** Stops looking, and waits for the pushes in flight (each bounded by its timeout). */
  async close (): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    await this.running
  }

  private schedule (ms: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      let more = false
      this.running = this.tick().then((busy) => { more = busy }).finally(() => {
        this.running = undefined
        if (this.closed) return
        const again = this.again || more
        this.again = false
        this.schedule(again ? 0 : this.interval)
      })
    }, ms)
    this.timer.unref()
  }

  /** Makes due and sends what is due; true when more may be waiting (a batch came back full). */
  private async tick (): Promise<boolean> {
    const { store, sender, windowMs, log, made } = this.options
    try {
      for (let round = 0; round < 10 && !this.closed; round++) {
        const now = Date.now()
        const flushed = await store.flushEnded({ windowMs, push: sender !== undefined, now }, FLUSH_BATCH)
        if (flushed.due.length > 0) made(flushed)
        const deliveries = sender === undefined ? [] : await store.take(BATCH, LEASE_MS, now)
        if (deliveries.length > 0) await sender!.sendAll(deliveries)
        if (flushed.due.length < FLUSH_BATCH && deliveries.length < BATCH) return false
        await new Promise((resolve) => setImmediate(resolve))
      }
      return true
    } catch (err) {
      log.warn({ err }, 'push work failed; trying again at the next tick')
      return false
    }
  }
}
