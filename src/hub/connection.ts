import type { FastifyBaseLogger } from 'fastify'
import { WebSocket } from 'ws'
import { CloseCode } from '../schemas/close-codes.ts'
import type { ErrorFrame, ServerFrame } from '../schemas/frames.ts'
import type { ChatStats } from '../shared/chat-stats.ts'
import { type Framed, frameText, rawSocket, writeFramed } from './framing.ts'
import { TokenBucket } from './token-bucket.ts'

export { CloseCode }

type Task = () => void | Promise<void>

/** What every connection of a server shares: one object, so each connection holds one pointer to it. */
export interface ConnectionShared {
  /** The parent logger; a connection's child logger is made on first use. */
  logger: FastifyBaseLogger
  sendBufferLimit: number
  messageRate: number
  stats: ChatStats
  onSlowConsumer: (connection: Connection) => void
}

export interface ConnectionInit {
  id: string
  user: string
  name?: string
  socket: WebSocket
  /** Id of the upgrade request, bound into the connection's log lines. */
  reqId: string
  /** The client's address as the server sees it (through trusted proxies). */
  ip: string
  /** Unix ms at which the connection's token expires, if it does. */
  expiresAt?: number
  /** Its token says it moderates every room (`roles: ["moderator"]`). */
  moderator?: boolean
  shared: ConnectionShared
}

/**
 * One client socket and what the server knows about it. Frames from one client are
 * handled one at a time, in order (`run`), so a `message` sent right after a `join`
 * always finds the join done, even when the join had to wait for storage.
 */
export class Connection {
  readonly id: string
  readonly user: string
  readonly name: string | undefined
  readonly socket: WebSocket
  /** Rooms joined or being joined. */
  readonly rooms = new Set<string>()
  readonly bucket: TokenBucket
  /** Cleared on every heartbeat, set by every pong. */
  alive = true
  /** Set once, when the connection leaves every structure. */
  closed = false
  expiresAt: number | undefined
  readonly ip: string
  /** Frames received and sent, for the line logged when the connection closes. */
  framesIn = 0
  /** A moderator of every room by its token (`roles: ["moderator"]`); a token refresh updates it. */
  moderator: boolean
  framesOut = 0
  /** performance.now() at the upgrade, whole milliseconds (a small integer for days of uptime). */
  readonly openedAt = Math.round(performance.now())
  private readonly shared: ConnectionShared
  private readonly reqId: string
  private child: FastifyBaseLogger | undefined
  private tasks: Task[] | undefined
  private busy = false

  constructor (init: ConnectionInit) {
    this.id = init.id
    this.user = init.user
    this.name = init.name
    this.socket = init.socket
    this.reqId = init.reqId
    this.ip = init.ip
    this.shared = init.shared
    this.expiresAt = init.expiresAt
    this.moderator = init.moderator === true
    this.bucket = new TokenBucket(init.shared.messageRate, init.shared.messageRate * 2)
  }

  /**
   * The connection's child logger (request id, connection id, user, ip). Made on first use:
   * most connections never log through it, and an idle connection should cost as little as possible.
   */
  get log (): FastifyBaseLogger {
    this.child ??= this.shared.logger.child(this.identity())
    return this.child
  }

  /** Debug lines without making a child logger when debug is off (the usual case). */
  debug (details: object, message: string): void {
    const level = this.shared.logger.level
    if (level === 'debug' || level === 'trace') this.log.debug(details, message)
  }

  /** An info line with the connection's identity, through the child logger only if it exists already. */
  info (details: object, message: string): void {
    if (this.child !== undefined) this.child.info(details, message)
    else this.shared.logger.info({ ...this.identity(), ...details }, message)
  }

  /** Whether info lines are written: callers skip building their details when they are not. */
  get logsInfo (): boolean {
    const level = this.shared.logger.level
    return level === 'info' || level === 'debug' || level === 'trace'
  }

  send (frame: ServerFrame): void {
    if (frame.type === 'error') this.shared.stats.errorSent((frame as ErrorFrame).code)
    this.sendText(JSON.stringify(frame))
  }

  /** Frames the text here and writes it, like a broadcast (see framing.ts), rather than through ws's sender. */
  sendText (text: string): void {
    this.sendFramed(frameText(text), text)
  }

  /** Writes bytes framed once for many connections (see framing.ts). */
  sendFramed (framed: Framed, text: string): void {
    if (this.closed || !writeFramed(this.socket, framed, text)) return
    this.framesOut++
    this.checkBuffer()
  }

  /**
   * Runs `write` with the socket corked, so the frames it sends leave in one write: a sender's
   * own message and its ack, say, cost the kernel one send instead of two.
   */
  corked (write: () => void): void {
    const socket = rawSocket(this.socket)
    socket?.cork()
    try {
      write()
    } finally {
      socket?.uncork()
    }
  }

  /** Runs frame handlers one after another; a handler that returns a promise holds the next. */
  run (task: Task): void {
    if (this.busy) {
      (this.tasks ??= []).push(task)
      return
    }
    this.execute(task)
  }

  close (code: number, reason: string): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(code, reason)
    }
  }

  private execute (task: Task | undefined): void {
    while (task !== undefined) {
      let result: void | Promise<void>
      try {
        result = task()
      } catch (err) {
        this.log.error({ err }, 'frame handler failed')
        result = undefined
      }
      if (result instanceof Promise) {
        this.busy = true
        // One `then` for both outcomes: `catch().finally()` would make four promises per frame
        // that waits (every message waits for its commit), and their garbage shows at load.
        result.then(() => this.next(), (err: unknown) => {
          this.log.error({ err }, 'frame handler failed')
          this.next()
        })
        return
      }
      task = this.tasks?.shift()
    }
  }

  private next (): void {
    this.busy = false
    this.execute(this.tasks?.shift())
  }

  private checkBuffer (): void {
    if (this.socket.bufferedAmount > this.shared.sendBufferLimit) this.shared.onSlowConsumer(this)
  }

  private identity () {
    return { reqId: this.reqId, connectionId: this.id, user: this.user, ip: this.ip }
  }
}
