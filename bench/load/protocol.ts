/** Messages between the orchestrator and the load-generator workers. */

/** How a client talks: our chat protocol (the service and the bare hub) or Socket.IO. */
export type Wire = 'chat' | 'socketio'

export interface ClientSpec {
  user: string
  room: string
}

export type Command =
  /** Opens the clients and joins each to its room, at most `concurrency` at a time. */
  | { cmd: 'connect', wire: Wire, url: string, clients: ClientSpec[], concurrency: number, timeoutMs: number }
  /** Forgets deliveries and latencies counted so far. */
  | { cmd: 'reset' }
  /** The worker's first client sends `count` messages, keeping `window` unacknowledged at most. */
  | { cmd: 'burst', count: number, window: number, timeoutMs: number }
  /**
   * Every client sends one message each `intervalMs` from `startAt` (shared clock) for
   * `durationMs`; a client's phase is `phases[i]` ms into the interval.
   */
  | { cmd: 'steady', startAt: number, durationMs: number, intervalMs: number, phases: number[], ackTimeoutMs: number }
  /**
   * `steady`, plus what chat apps do around it: every client signals typing every `typingMs`
   * (at its own phase), marks every message it receives read, and instead of sending, edits its
   * previous message every `editEvery`-th time, reacts to the newest message it received every
   * `reactEvery`-th time, and replies to its previous message every `replyEvery`-th time (0: never).
   */
  | { cmd: 'chat', startAt: number, durationMs: number, intervalMs: number, phases: number[], ackTimeoutMs: number } & ChatMix
  /** Deliveries so far (cheap: no latencies). */
  | { cmd: 'counts' }
  /** Deliveries and every latency sample, then forgets them. */
  | { cmd: 'collect' }
  /** Closes every client. */
  | { cmd: 'close' }

/** What a chat run mixes into its messages; each `…Every` of 0 means never. */
export interface ChatMix { typingMs: number, editEvery: number, reactEvery: number, replyEvery: number }

export interface Request { id: number, command: Command }

export interface ConnectResult {
  opened: number
  joined: number
  failed: number
  firstError?: string
  /** Shared-clock ms of the first connect attempt and of the last join. */
  startedAt: number
  finishedAt: number
}

export interface SendResult {
  /** Frames sent that wait for an ack: messages, and in a chat run edits and reactions too. */
  sent: number
  /** Of those, edits and reactions (a chat run), which are not delivered as messages. */
  edits?: number
  reactions?: number
  /** Of the messages, replies (a chat run). */
  replies?: number
  acked: number
  errors: number
  firstError?: string
}

export interface Counts {
  received: number
  /** Shared-clock ms of the latest delivery. */
  lastAt: number
  /** Clients whose socket closed or failed since they joined. */
  dropped: number
  open: number
  errors: number
  firstError?: string
}

export interface Collected extends Counts {
  /** Latency of every delivery in ms (receive time minus the send stamp carried in the text). */
  latencies: Float64Array
}

export type Reply =
  | { id: number, ok: true, result: unknown }
  | { id: number, ok: false, error: string }

/** Epoch milliseconds with sub-millisecond precision, comparable across threads. */
export function now (): number {
  return performance.timeOrigin + performance.now()
}

/**
 * Message texts carry their send time between two markers, so a receiver can read it
 * without parsing the whole frame: `~<ms>~ filler`. Ids never contain `~`.
 */
export const STAMP = '~'
const FILLER = ' the quick brown fox jumps over the lazy dog'

export function stampedText (): string {
  return STAMP + now().toFixed(3) + STAMP + FILLER
}

/** The send time in a frame or text, or NaN when it carries none. */
export function readStamp (text: string): number {
  const start = text.indexOf(STAMP)
  if (start < 0) return NaN
  const end = text.indexOf(STAMP, start + 1)
  if (end < 0) return NaN
  return Number(text.slice(start + 1, end))
}
