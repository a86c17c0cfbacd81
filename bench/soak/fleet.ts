import { randomBytes } from 'node:crypto'
import { WebSocket } from 'ws'

/**
 * The soak's clients: each one a user with one connection, a member of one room, sending now and
 * then, pinging, and closed and reopened now and then (churn: it re-joins with `since`). Every
 * message a member receives is checked against the last seq it saw in its room, across its
 * reconnections: a seq at or below it is a duplicate, a jump is a gap. Every acknowledged message
 * is remembered (room, seq, id) so the end of the run can find each one in history, and a seq
 * acknowledged to two messages is counted as it happens.
 */

export interface FleetOptions {
  /** ws://…/ws of each service node; client i connects to node i mod count. */
  urls: string[]
  connections: number
  roomSize: number
  /** Mean pause between two sends of one client. */
  sendEveryMs: number
  /** App-level `ping` frames, beside the server's WebSocket pings. */
  pingEveryMs: number
  /** How long a frame waits for its answer before it counts as unanswered. */
  answerTimeoutMs: number
}

export interface FleetCounters {
  sent: number
  acked: number
  /** Sends answered with an error frame, by code. */
  errors: Record<string, number>
  /** Sends with no answer within answerTimeoutMs (the connection closed, or nothing came). */
  unanswered: number
  /** Resends with the same clientId after an error or a closed connection. */
  resent: number
  /** Sends given up after 30 attempts. */
  abandoned: number
  delivered: number
  duplicates: number
  /** Seqs a member never received: jumps in its stream (replays included). */
  gaps: number
  /** Re-joins answered recovered:false. */
  unrecovered: number
  /** Seqs acknowledged to two different messages. */
  seqsGivenTwice: number
  /** Connections closed by the client on purpose, and reopened. */
  churned: number
  /** Connections the server (or the network) closed. */
  dropped: number
  /** The close codes of the dropped connections. */
  dropCodes: Record<number, number>
  reconnects: number
}

interface Pending {
  resolve: (frame: Frame) => void
  timer: NodeJS.Timeout
}

type Frame = Record<string, unknown> & { type: string }

export interface Fleet {
  counters: FleetCounters
  /** Acknowledge-to-answer times of the sends answered since the last call, in ms. */
  takeAckTimes: () => number[]
  connected: () => number
  /** Churns `count` random clients: closed now, reopened and re-joined 1 s later. */
  churn: (count: number) => void
  /** Stops sending; resolves once no send is waiting for its answer (bounded by answerTimeoutMs). */
  quiesce: () => Promise<void>
  /** Every acknowledged message: room → seq → id. */
  acked: Map<string, Map<number, string>>
  /** Each connected member's room and last seq seen. */
  positions: () => { room: string, lastSeq: number }[]
  close: () => void
}

const roomOf = (index: number, roomSize: number) => `soak-${Math.floor(index / roomSize)}`

export async function startFleet (options: FleetOptions): Promise<Fleet> {
  const counters: FleetCounters = {
    sent: 0,
    acked: 0,
    errors: {},
    unanswered: 0,
    resent: 0,
    abandoned: 0,
    delivered: 0,
    duplicates: 0,
    gaps: 0,
    unrecovered: 0,
    seqsGivenTwice: 0,
    churned: 0,
    dropped: 0,
    dropCodes: {},
    reconnects: 0
  }
  const acked = new Map<string, Map<number, string>>()
  let ackTimes: number[] = []
  let sending = true
  let closing = false
  let inFlight = 0

  function recordAck (room: string, seq: number, id: string): void {
    let seqs = acked.get(room)
    if (seqs === undefined) acked.set(room, seqs = new Map())
    const known = seqs.get(seq)
    if (known !== undefined && known !== id) counters.seqsGivenTwice++
    seqs.set(seq, id)
  }

  class Client {
    ws: WebSocket | undefined
    lastSeq = 0
    joined = false
    private churning = false
    private reopening = false
    private refs = 0
    private readonly pending = new Map<string, Pending>()
    private sendTimer: NodeJS.Timeout | undefined
    private pingTimer: NodeJS.Timeout | undefined

    constructor (readonly index: number, readonly user: string, readonly room: string, readonly url: string) {}

    async open (): Promise<void> {
      const ws = new WebSocket(`${this.url}?user=${this.user}`, { perMessageDeflate: false })
      this.ws = ws
      const welcomed = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${this.user}: no welcome`)), options.answerTimeoutMs)
        ws.once('message', () => { clearTimeout(timer); resolve() })
        ws.once('close', () => { clearTimeout(timer); reject(new Error(`${this.user}: closed before welcome`)) })
      })
      ws.on('error', () => {})
      ws.on('close', (code) => this.closed(ws, code))
      ws.on('message', (data: Buffer) => this.frame(JSON.parse(data.toString()) as Frame))
      await welcomed
      const joined = await this.request({ type: 'join', room: this.room, ...(this.lastSeq > 0 ? { since: this.lastSeq } : {}) })
      if (joined.type !== 'joined') throw new Error(`${this.user}: join answered ${JSON.stringify(joined)}`)
      if (joined.recovered === false) {
        counters.unrecovered++
        // What history no longer holds is lost to this member; it goes on from the room's seq.
        counters.gaps += Math.max(0, (joined.seq as number) - this.lastSeq)
        this.lastSeq = joined.seq as number
      } else if (this.lastSeq === 0) {
        this.lastSeq = joined.seq as number
      }
      this.joined = true
      this.schedule()
      this.pingTimer = setInterval(() => { void this.request({ type: 'ping' }).catch(() => {}) }, options.pingEveryMs)
    }

    private schedule (): void {
      clearTimeout(this.sendTimer)
      if (!sending || closing || !this.joined) return
      const pause = options.sendEveryMs * (0.5 + Math.random())
      this.sendTimer = setTimeout(() => { void this.sendOne(randomBytes(8).toString('hex')) }, pause)
    }

    /**
     * Sends one message until it is acknowledged: after an error frame (it may hide a stored
     * message, when Redis did not answer) or a closed connection, again with the same clientId,
     * which stores it once. Given up after 30 attempts.
     */
    private async sendOne (clientId: string): Promise<void> {
      if (!sending) return
      counters.sent++
      inFlight++
      try {
        // eslint-disable-next-line no-unmodified-loop-condition -- close() sets closing while the loop awaits
        for (let attempt = 0, issued = 0; attempt < 30 && !closing; attempt++) {
          if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 1000))
          if (!this.joined) continue
          if (issued++ > 0) counters.resent++
          const started = performance.now()
          let answer: Frame
          try {
            answer = await this.request({ type: 'message', room: this.room, text: `soak ${clientId}`, clientId })
          } catch {
            counters.unanswered++
            continue
          }
          if (answer.type === 'ack') {
            counters.acked++
            ackTimes.push(performance.now() - started)
            recordAck(this.room, answer.seq as number, answer.id as string)
            return
          }
          if (answer.type === 'error') counters.errors[answer.code as string] = (counters.errors[answer.code as string] ?? 0) + 1
        }
        if (!closing) counters.abandoned++
      } finally {
        inFlight--
        this.schedule()
      }
    }

    request (frame: Frame): Promise<Frame> {
      const ws = this.ws
      if (ws === undefined || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not open'))
      const ref = String(++this.refs)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(ref)
          reject(new Error(`${frame.type}: no answer`))
        }, options.answerTimeoutMs)
        this.pending.set(ref, { resolve, timer })
        ws.send(JSON.stringify({ ...frame, ref }))
      })
    }

    private frame (frame: Frame): void {
      if (frame.type === 'message' && frame.room === this.room) {
        counters.delivered++
        const seq = frame.seq as number
        if (seq <= this.lastSeq) counters.duplicates++
        else {
          counters.gaps += seq - this.lastSeq - 1
          this.lastSeq = seq
        }
        return
      }
      const ref = frame.ref as string | undefined
      const waiting = ref === undefined ? undefined : this.pending.get(ref)
      if (waiting !== undefined) {
        this.pending.delete(ref!)
        clearTimeout(waiting.timer)
        waiting.resolve(frame)
      }
    }

    /** Churn: closed by the client, reopened 1 s later. */
    churn (): void {
      if (!this.joined || this.ws === undefined) return
      counters.churned++
      this.churning = true
      this.ws.close(1000)
    }

    private closed (ws: WebSocket, code: number): void {
      if (ws !== this.ws) return
      const wasJoined = this.joined
      this.joined = false
      clearTimeout(this.sendTimer)
      clearInterval(this.pingTimer)
      for (const [ref, waiting] of this.pending) {
        clearTimeout(waiting.timer)
        this.pending.delete(ref)
        waiting.resolve({ type: 'closed' })
      }
      if (closing) return
      if (wasJoined && !this.churning) {
        counters.dropped++
        counters.dropCodes[code] = (counters.dropCodes[code] ?? 0) + 1
      }
      this.churning = false
      // One chain of attempts at a time: a failed attempt's own close must not start another.
      if (this.reopening) return
      this.reopening = true
      setTimeout(() => { void this.reopen(0) }, 1000)
    }

    private async reopen (attempt: number): Promise<void> {
      if (closing) return
      counters.reconnects++
      try {
        await this.open()
        this.reopening = false
      } catch {
        this.ws?.terminate()
        if (attempt < 1000) setTimeout(() => { void this.reopen(attempt + 1) }, Math.min(1000 * 2 ** attempt, 10_000))
      }
    }

    stop (): void {
      clearTimeout(this.sendTimer)
      clearInterval(this.pingTimer)
      this.ws?.terminate()
    }
  }

  const clients: Client[] = []
  for (let i = 0; i < options.connections; i++) {
    clients.push(new Client(i, `u${i}`, roomOf(i, options.roomSize), options.urls[i % options.urls.length]!))
  }
  // Opened 50 at a time, so the start is a ramp rather than one burst.
  for (let i = 0; i < clients.length; i += 50) await Promise.all(clients.slice(i, i + 50).map((client) => client.open()))

  return {
    counters,
    acked,
    takeAckTimes: () => {
      const taken = ackTimes
      ackTimes = []
      return taken
    },
    connected: () => clients.filter((client) => client.joined).length,
    churn (count) {
      for (let i = 0; i < count; i++) clients[Math.floor(Math.random() * clients.length)]!.churn()
    },
    async quiesce () {
      sending = false
      const deadline = Date.now() + options.answerTimeoutMs * 12
      // eslint-disable-next-line no-unmodified-loop-condition -- the sends in flight lower it while the loop awaits
      while (inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200))
    },
    positions: () => clients.filter((client) => client.joined).map((client) => ({ room: client.room, lastSeq: client.lastSeq })),
    close () {
      closing = true
      for (const client of clients) client.stop()
    }
  }
}
