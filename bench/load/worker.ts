import { appendFileSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'
import { type BenchClient, ChatClient, type Sink, SocketIoClient } from './clients.ts'
import {
  type ClientSpec, type Collected, type Command, type ConnectResult, type Counts, type Reply, type Request,
  type SendResult, type Wire, now, stampedText
} from './protocol.ts'

/** One load-generator thread: holds some of the clients and counts what they receive. */

interface Member { client: BenchClient, room: string }

/** The seq of a message frame, read without parsing the whole JSON. */
const SEQ = /"seq":(\d+)/

/** While a chat run goes on: every received message is marked read by its receiver. */
let reading = false

let members: Member[] = []
let latencies = new Float64Array(1 << 16)
let received = 0
/** Deliveries slower than 1 ms, as `<receive time> <latency>` lines, when BENCH_LATENCY_LOG names a file to add them to. */
const latencyLog = process.env.BENCH_LATENCY_LOG
const slowDeliveries: string[] = []
let lastAt = 0
let dropped = 0
let errors = 0
let firstError: string | undefined

const sink: Sink = {
  delivery (stamp) {
    const at = now()
    if (received === latencies.length) {
      const grown = new Float64Array(latencies.length * 2)
      grown.set(latencies)
      latencies = grown
    }
    latencies[received++] = at - stamp
    if (latencyLog !== undefined && at - stamp > 1) slowDeliveries.push(`${at.toFixed(2)} ${(at - stamp).toFixed(3)}`)
    lastAt = at
  },
  dropped (reason) {
    dropped++
    noteError(`connection dropped: ${reason}`)
  }
}

function noteError (message: string): void {
  errors++
  firstError ??= message
}

const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error)

let ioFactory: typeof import('socket.io-client').io | undefined

async function createClient (wire: Wire, url: string, user: string, room: string): Promise<BenchClient> {
  if (wire === 'chat') {
    let client: ChatClient | undefined
    const own: Sink = {
      delivery (stamp, frame) {
        sink.delivery(stamp, frame)
        if (!reading) return
        const seq = SEQ.exec(frame)?.[1]
        if (seq === undefined || client === undefined) return
        client.lastSeen = Number(seq)
        client.signal({ type: 'read', room, seq: Number(seq) })
      },
      dropped: sink.dropped
    }
    client = new ChatClient(url, user, own)
    return client
  }
  ioFactory ??= (await import('socket.io-client')).io
  return new SocketIoClient(ioFactory, url, user, sink)
}

async function connect (wire: Wire, url: string, specs: ClientSpec[], concurrency: number, timeoutMs: number): Promise<ConnectResult> {
  const result: ConnectResult = { opened: 0, joined: 0, failed: 0, startedAt: now(), finishedAt: 0 }
  let next = 0
  async function lane (): Promise<void> {
    while (next < specs.length) {
      const spec = specs[next++]!
      const client = await createClient(wire, url, spec.user, spec.room)
      try {
        await client.open(timeoutMs)
        result.opened++
        await client.join(spec.room, timeoutMs)
        result.joined++
        members.push({ client, room: spec.room })
      } catch (error) {
        result.failed++
        result.firstError ??= messageOf(error)
        client.close()
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, lane))
  result.finishedAt = now()
  return result
}

/** The first client sends `count` messages with at most `window` awaiting their ack. */
function burst (count: number, window: number, timeoutMs: number): Promise<SendResult> {
  const sender = members[0]
  const result: SendResult = { sent: 0, acked: 0, errors: 0 }
  if (sender === undefined) return Promise.resolve(result)
  return new Promise((resolve) => {
    let inFlight = 0
    let done = false
    const finish = () => {
      if (done) return
      done = true
      clearTimeout(deadline)
      resolve(result)
    }
    const deadline = setTimeout(finish, timeoutMs)
    const pump = () => {
      // eslint-disable-next-line no-unmodified-loop-condition -- finish() sets done, from a timer or an ack
      while (!done && inFlight < window && result.sent < count) {
        inFlight++
        result.sent++
        sender.client.send(sender.room, stampedText(), timeoutMs).then(() => {
          result.acked++
        }, (error: unknown) => {
          result.errors++
          result.firstError ??= messageOf(error)
        }).finally(() => {
          inFlight--
          if (result.acked + result.errors === count) finish()
          else pump()
        })
      }
    }
    pump()
  })
}

type SendFn = (member: Member, text: string, timeoutMs: number) => Promise<number | undefined>
const plainSend: SendFn = (member, text, timeoutMs) => member.client.send(member.room, text, timeoutMs)

/** Every client sends once per interval, at its own phase, until the duration is over. */
function steady (startAt: number, durationMs: number, intervalMs: number, phases: number[], ackTimeoutMs: number,
  send: SendFn = plainSend): Promise<SendResult> {
  const result: SendResult = { sent: 0, acked: 0, errors: 0 }
  const order = members.map((member, index) => ({ member, phase: phases[index] ?? 0 }))
    .sort((a, b) => a.phase - b.phase)
  if (order.length === 0) return Promise.resolve(result)
  return new Promise((resolve) => {
    let pointer = 0
    let round = 0
    let pending = 0
    let sending = true
    const settle = () => {
      if (!sending && pending === 0) resolve(result)
    }
    const tick = () => {
      const elapsed = now() - startAt
      while (sending) {
        const due = round * intervalMs + order[pointer]!.phase
        if (due >= durationMs) {
          sending = false
          clearInterval(timer)
          break
        }
        if (due > elapsed) break
        const { member } = order[pointer]!
        if (++pointer === order.length) {
          pointer = 0
          round++
        }
        if (!member.client.isOpen) continue
        result.sent++
        pending++
        send(member, stampedText(), ackTimeoutMs).then(() => {
          result.acked++
        }, (error: unknown) => {
          result.errors++
          result.firstError ??= messageOf(error)
        }).finally(() => {
          pending--
          settle()
        })
      }
      settle()
    }
    const timer = setInterval(tick, 2)
  })
}

/** Emojis a chat run reacts with, in turn. */
const EMOJIS = ['👍', '🎉', '❤️', '😂']

/** `steady` with typing signals, reads of every received message, edits, reactions and replies (see Command 'chat'). */
async function chat (command: Extract<Command, { cmd: 'chat' }>): Promise<SendResult> {
  const { startAt, durationMs, intervalMs, phases, ackTimeoutMs, typingMs, editEvery, reactEvery, replyEvery } = command
  const timers: NodeJS.Timeout[] = []
  members.forEach((member, index) => {
    const client = member.client
    if (!(client instanceof ChatClient)) return
    const typing = () => client.signal({ type: 'typing', room: member.room })
    const delay = Math.max(0, startAt - now()) + ((phases[index] ?? 0) % typingMs)
    timers.push(setTimeout(() => {
      typing()
      timers.push(setInterval(typing, typingMs))
    }, delay))
  })
  const own = new Map<Member, { seq: number | undefined, count: number }>()
  let edits = 0
  let reactions = 0
  let replies = 0
  const every = (n: number, count: number) => n > 0 && count % n === 0
  const send: SendFn = (member, text, timeoutMs) => {
    let state = own.get(member)
    if (state === undefined) own.set(member, state = { seq: undefined, count: 0 })
    const mine = state
    const client = member.client
    const count = ++mine.count
    if (client instanceof ChatClient) {
      // Edits and reactions are not deliveries: their frames carry no stamp.
      if (every(editEvery, count) && mine.seq !== undefined) {
        edits++
        return client.edit(member.room, mine.seq, 'edited: the quick brown fox', timeoutMs).then(() => mine.seq)
      }
      if (every(reactEvery, count) && client.lastSeen > 0) {
        reactions++
        return client.react(member.room, client.lastSeen, EMOJIS[count % EMOJIS.length]!, timeoutMs).then(() => mine.seq)
      }
      if (every(replyEvery, count) && mine.seq !== undefined) {
        replies++
        return client.send(member.room, text, timeoutMs, mine.seq).then((seq) => (mine.seq = seq))
      }
    }
    return client.send(member.room, text, timeoutMs).then((seq) => (mine.seq = seq))
  }
  reading = true
  try {
    return { ...await steady(startAt, durationMs, intervalMs, phases, ackTimeoutMs, send), edits, reactions, replies }
  } finally {
    reading = false
    for (const timer of timers) clearTimeout(timer)
  }
}

function counts (): Counts {
  let open = 0
  for (const member of members) if (member.client.isOpen) open++
  return { received, lastAt, dropped, open, errors, firstError }
}

function reset (): void {
  received = 0
  lastAt = 0
  errors = 0
  dropped = 0
  firstError = undefined
}

async function handle (command: Command): Promise<{ result: unknown, transfer?: ArrayBuffer[] }> {
  switch (command.cmd) {
    case 'connect':
      return { result: await connect(command.wire, command.url, command.clients, command.concurrency, command.timeoutMs) }
    case 'reset':
      reset()
      return { result: null }
    case 'burst':
      return { result: await burst(command.count, command.window, command.timeoutMs) }
    case 'steady':
      return { result: await steady(command.startAt, command.durationMs, command.intervalMs, command.phases, command.ackTimeoutMs) }
    case 'chat':
      return { result: await chat(command) }
    case 'counts':
      return { result: counts() }
    case 'collect': {
      const collected: Collected = { ...counts(), latencies: latencies.slice(0, received) }
      if (latencyLog !== undefined && slowDeliveries.length > 0) appendFileSync(latencyLog, slowDeliveries.join('\n') + '\n')
      slowDeliveries.length = 0
      reset()
      return { result: collected, transfer: [collected.latencies.buffer as ArrayBuffer] }
    }
    case 'close': {
      for (const member of members) member.client.close()
      members = []
      latencies = new Float64Array(1 << 16)
      reset()
      return { result: null }
    }
  }
}

parentPort!.on('message', (request: Request) => {
  handle(request.command).then(({ result, transfer }) => {
    const reply: Reply = { id: request.id, ok: true, result }
    parentPort!.postMessage(reply, transfer ?? [])
  }, (error: unknown) => {
    const reply: Reply = { id: request.id, ok: false, error: messageOf(error) }
    parentPort!.postMessage(reply)
  })
})
