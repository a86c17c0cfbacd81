import { WebSocket } from 'ws'
import type { Socket } from 'socket.io-client'
import { readStamp } from './protocol.ts'

/** How every message frame starts, from the service and the bare hub alike. */
const MESSAGE_FRAME = '{"type":"message",'

/** What a client reports to its worker. */
export interface Sink {
  /** A message frame arrived carrying the send time `stamp`; `frame` is its text, for clients that react to it. */
  delivery: (stamp: number, frame: string) => void
  /** A joined client's connection ended. */
  dropped: (reason: string) => void
}

/** One benchmark client, whatever its protocol. */
export interface BenchClient {
  /** Resolves once the server greeted the client (welcome frame, Socket.IO connect). */
  open: (timeoutMs: number) => Promise<void>
  join: (room: string, timeoutMs: number) => Promise<void>
  /** Resolves when the server acknowledged the message, with its seq where the protocol has one. */
  send: (room: string, text: string, timeoutMs: number) => Promise<number | undefined>
  close: () => void
  readonly isOpen: boolean
}

/** A reply frame, parsed only for the fields a client reads. */
interface Reply { type: string, ref?: string, code?: string, message?: string, seq?: number }

interface Waiter {
  resolve: (reply: Reply) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout
}

function waiter (timeoutMs: number, what: string, resolve: (reply: Reply) => void, reject: (error: Error) => void, onTimeout: () => void): Waiter {
  const timer = setTimeout(() => {
    onTimeout()
    reject(new Error(`${what}: no answer within ${timeoutMs} ms`))
  }, timeoutMs)
  return { resolve, reject, timer }
}

/**
 * A `ws` client of our chat protocol (the service and the bare hub). Message frames are
 * recognised by the stamp in their text, without parsing the JSON; other frames are parsed
 * only while a reply is awaited.
 */
export class ChatClient implements BenchClient {
  private ws: WebSocket | undefined
  private readonly waiting = new Map<string, Waiter>()
  private welcome: Waiter | undefined
  private refs = 0
  private joined = false
  private ended = false

  constructor (private readonly url: string, private readonly user: string, private readonly sink: Sink) {}

  get isOpen (): boolean {
    return this.ws !== undefined && this.ws.readyState === WebSocket.OPEN
  }

  open (timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.url}?user=${this.user}`, { perMessageDeflate: false })
      this.ws = ws
      this.welcome = waiter(timeoutMs, `welcome for ${this.user}`, () => resolve(), reject, () => { this.welcome = undefined })
      ws.on('message', (data: Buffer) => this.onFrame(data))
      ws.on('error', (error) => this.fail(error))
      ws.on('close', (code) => this.fail(new Error(`closed with ${code}`)))
    })
  }

  join (room: string, timeoutMs: number): Promise<void> {
    return this.request({ type: 'join', room }, timeoutMs).then(() => { this.joined = true })
  }

  /** The newest message seq this client received (a chat run reacts to it). */
  lastSeen = 0

  send (room: string, text: string, timeoutMs: number, replyTo?: number): Promise<number | undefined> {
    const frame = replyTo === undefined ? { type: 'message', room, text } : { type: 'message', room, text, replyTo }
    return this.request(frame, timeoutMs).then((reply) => reply.seq)
  }

  /** Adds this client's reaction to a message; resolves on the ack. */
  react (room: string, seq: number, emoji: string, timeoutMs: number): Promise<void> {
    return this.request({ type: 'react', room, seq, emoji }, timeoutMs).then(() => {})
  }

  /** Edits one of this client's messages; resolves on the ack. */
  edit (room: string, seq: number, text: string, timeoutMs: number): Promise<void> {
    return this.request({ type: 'edit', room, seq, text }, timeoutMs).then(() => {})
  }

  /** Frames without a reply: typing signals and read seqs. */
  signal (frame: { type: 'typing', room: string } | { type: 'read', room: string, seq: number }): void {
    if (this.isOpen) this.ws!.send(JSON.stringify(frame))
  }

  close (): void {
    this.ended = true
    this.ws?.terminate()
  }

  private request (frame: Record<string, unknown>, timeoutMs: number): Promise<Reply> {
    const ref = String(++this.refs)
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.set(ref, waiter(timeoutMs, `${String(frame.type)} by ${this.user}`, resolve, reject, () => this.waiting.delete(ref)))
      this.ws!.send(JSON.stringify({ ...frame, ref }))
    })
  }

  private onFrame (data: Buffer): void {
    const text = data.toString('latin1')
    // Only message frames are deliveries: an `updated` frame (a reaction, a thread) carries a
    // stamped text again, and must not count.
    const stamp = text.startsWith(MESSAGE_FRAME) ? readStamp(text) : NaN
    // eslint-disable-next-line no-self-compare -- the NaN check: readStamp gives NaN for a frame without a stamp
    if (stamp === stamp) {
      this.sink.delivery(stamp, text)
      return
    }
    if (this.welcome === undefined && this.waiting.size === 0) return
    const frame = JSON.parse(data.toString()) as Reply
    if (frame.type === 'welcome' && this.welcome !== undefined) {
      const welcome = this.welcome
      this.welcome = undefined
      clearTimeout(welcome.timer)
      welcome.resolve(frame)
      return
    }
    if (frame.ref === undefined) return
    const pending = this.waiting.get(frame.ref)
    if (pending === undefined) return
    this.waiting.delete(frame.ref)
    clearTimeout(pending.timer)
    if (frame.type === 'error') pending.reject(new Error(`${frame.code}: ${frame.message}`))
    else pending.resolve(frame)
  }

  private fail (error: Error): void {
    const pending = [...this.waiting.values()]
    this.waiting.clear()
    if (this.welcome !== undefined) pending.push(this.welcome)
    this.welcome = undefined
    for (const entry of pending) {
      clearTimeout(entry.timer)
      entry.reject(error)
    }
    if (this.joined && !this.ended) {
      this.joined = false
      this.sink.dropped(error.message)
    }
  }
}

type SocketIoFactory = typeof import('socket.io-client').io

/** A socket.io-client over the websocket transport only, against bench/servers/socketio.ts. */
export class SocketIoClient implements BenchClient {
  private socket: Socket | undefined
  private joined = false
  private ended = false

  constructor (private readonly io: SocketIoFactory, private readonly url: string, private readonly user: string, private readonly sink: Sink) {}

  get isOpen (): boolean {
    return this.socket?.connected === true
  }

  open (timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = this.io(this.url, {
        transports: ['websocket'], forceNew: true, reconnection: false, timeout: timeoutMs, query: { user: this.user }
      })
      this.socket = socket
      socket.on('message', (frame: { text: string }) => this.sink.delivery(readStamp(frame.text), frame.text))
      socket.once('connect', () => resolve())
      socket.once('connect_error', (error: Error) => reject(error))
      socket.on('disconnect', (reason: string) => {
        if (this.joined && !this.ended) {
          this.joined = false
          this.sink.dropped(reason)
        }
      })
    })
  }

  join (room: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket!.timeout(timeoutMs).emit('join', room, (error: Error | null) => {
        if (error !== null) return reject(new Error(`join by ${this.user}: ${error.message}`))
        this.joined = true
        resolve()
      })
    })
  }

  send (room: string, text: string, timeoutMs: number): Promise<number | undefined> {
    return new Promise((resolve, reject) => {
      this.socket!.timeout(timeoutMs).emit('message', { room, text }, (error: Error | null) => {
        if (error !== null) reject(new Error(`message by ${this.user}: ${error.message}`))
        else resolve(undefined)
      })
    })
  }

  close (): void {
    this.ended = true
    this.socket?.disconnect()
  }
}
