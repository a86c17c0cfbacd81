import type { ChatStore } from '../engine/types.ts'
import type { Message } from '../schemas/common.ts'
import type { EngineLog } from '../shared/log.ts'

/** What a change of a stored message did, as the features' stores answer. */
export type Change<M extends Message = Message> =
  | { outcome: 'changed' | 'unchanged', message: M }
  | { outcome: 'not_found' | 'forbidden' }

/** How long changes of one message gather into one `updated` (the contract allows 1 s). */
export const UPDATE_WINDOW_MS = 1000

interface Window {
  timer: NodeJS.Timeout
  /** A change was made in the window and has not gone out. */
  dirty: boolean
}

/**
 * "A message changed": the one way every feature that changes a stored message (an edit, a
 * reaction, a thread's replies) has members told. Storage records each change for recovery in
 * the step that makes it (LocalStorage.messages.save, `save_changed` on Redis), so a join with
 * `since` replays it; this side decides when members get `updated` with the message as it now is.
 *
 * A change that may be coalesced goes out at once when the message has had no `updated` in the
 * last UPDATE_WINDOW_MS, published by storage in the step of the change; the changes that
 * follow within the window go out as one `updated`, read and published in one step when the
 * window ends, so the last one out is the latest state. A burst of reactions on one message in
 * a big room costs its members two frames a second, not one per reaction. Windows are per node:
 * with n nodes changing one message, at most 2n a second.
 */
export class MessageUpdates {
  private readonly store: ChatStore
  private readonly log: EngineLog
  private readonly windowMs: number
  private readonly windows = new Map<string, Window>()
  /** Messages whose state is to go out on the next turn, by room: one storage call per room. */
  private due = new Map<string, Set<number>>()
  private readonly listeners: ((message: Message) => void)[] = []
  private closed = false

  constructor (store: ChatStore, log: EngineLog, options: { windowMs?: number } = {}) {
    this.store = store
    this.log = log
    this.windowMs = options.windowMs ?? UPDATE_WINDOW_MS
  }

  /**
   * Makes a change: `make` stores it, publishing `updated` in the same step when told to
   * (`publish`), and resolves with what it did. With `coalesce` false (edits) every change is
   * published with its step.
   */
  async change<M extends Message> (room: string, seq: number, make: (publish: boolean) => Promise<Change<M>>,
    options: { coalesce?: boolean } = {}): Promise<Change<M>> {
    const key = `${room}\u0000${seq}`
    const publish = options.coalesce === false || !this.windows.has(key)
    if (publish && options.coalesce !== false) this.open(key, room, seq)
    const result = await make(publish)
    if (result.outcome !== 'changed') return result
    // Not published with its step: it goes out with the window it falls in (one opened now if
    // the window it began in has ended meanwhile).
    if (!publish) this.changed(room, seq)
    for (const listener of this.listeners) listener(result.message)
    return result
  }

  /**
   * Told of every change made on this node through `change`, once stored: a feature keeps what
   * depends on another feature's change in step (a deleted reply changes its thread's root).
   */
  onChange (listener: (message: Message) => void): void {
    this.listeners.push(listener)
  }

  /** A change storage made already (a root's thread, in the step that stored its reply): published now or at the window's end. */
  changed (room: string, seq: number): void {
    const key = `${room}\u0000${seq}`
    const window = this.windows.get(key)
    if (window !== undefined) {
      window.dirty = true
      return
    }
    this.open(key, room, seq)
    this.publishSoon(room, seq)
  }

  /** Publishes what is still waiting for its window's end, and stops. */
  async close (): Promise<void> {
    this.closed = true
    for (const [key, window] of this.windows) {
      clearTimeout(window.timer)
      if (window.dirty) this.queue(key)
    }
    this.windows.clear()
    await this.flush()
  }

  private open (key: string, room: string, seq: number): void {
    const timer = setTimeout(() => this.end(key, room, seq), this.windowMs).unref()
    this.windows.set(key, { timer, dirty: false })
  }

  /** The window ends: its changes go out, and a new window opens behind them. */
  private end (key: string, room: string, seq: number): void {
    const window = this.windows.get(key)
    this.windows.delete(key)
    if (window === undefined || !window.dirty || this.closed) return
    this.open(key, room, seq)
    this.publishSoon(room, seq)
  }

  private queue (key: string): void {
    const [room, seq] = key.split('\u0000') as [string, string]
    this.publishSoon(room, Number(seq), false)
  }

  private publishSoon (room: string, seq: number, schedule = true): void {
    if (this.due.size === 0 && schedule) setImmediate(() => { void this.flush() })
    let seqs = this.due.get(room)
    if (seqs === undefined) this.due.set(room, seqs = new Set())
    seqs.add(seq)
  }

  private async flush (): Promise<void> {
    const due = this.due
    this.due = new Map()
    await Promise.all([...due].map(([room, seqs]) => this.store.publishUpdated(room, [...seqs]).catch((err: unknown) => {
      this.log.error({ err, room }, 'publishing changed messages failed')
    })))
  }
}
