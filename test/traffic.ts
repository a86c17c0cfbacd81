import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectAs, eventually, type Frame, http, type TestClient } from './helper.ts'

/**
 * Chat traffic for fault tests: senders that keep sending through a fault the way a careful
 * client does (an error is answered by sending again with the same clientId), members that
 * record every message they receive, and the checks of what the service promises through it.
 */

/** Where a client connects: an in-process app or a spawned service. */
interface Node { url: string, wsUrl: string }

export interface SenderStats {
  /** clientId → seq, for every acknowledged message. */
  acked: Map<string, number>
  /** Error frames answered (each followed by a resend). */
  errors: number
  /** Sends with no answer at all within 20 s (each followed by a resend): the service promises none. */
  unanswered: number
  /** The longest time between two acks: how long sends stalled. */
  longestStallMs: number
  /** The longest time one send waited for its answer (an ack or an error). */
  longestWaitMs: number
  /** When the first ack after `since` came (ms since epoch), for "sends resume within". */
  firstAckAfter: (since: number) => number | undefined
}

export interface Sender extends SenderStats {
  /** Stops sending and resolves once the message in flight is answered. */
  stop: () => Promise<void>
}

/**
 * Sends `room` a message every `pauseMs` from `user` on `node` until stopped (at most `limit`
 * messages and `maxMs`), each with a clientId; after an error it sends the same message again.
 */
export async function startSender (t: TestContext, node: Node, user: string, room: string, options: { pauseMs?: number, limit?: number, maxMs?: number } = {}): Promise<Sender> {
  const { pauseMs = 10, limit = 20_000, maxMs = 120_000 } = options
  const client = await connectAs(t, node, user)
  await client.join(room)
  const acked = new Map<string, number>()
  const ackTimes: number[] = []
  const stats = { errors: 0, unanswered: 0, longestStallMs: 0, longestWaitMs: 0 }
  const control = { stopping: false }
  const started = Date.now()
  const loop = (async () => {
    let lastAck = Date.now()
    for (let n = 1; n <= limit && !control.stopping && Date.now() - started < maxMs;) {
      const clientId = `${user}-${n}`
      // A send is answered within 10 s (COMMAND_TIMEOUT_MS, WAIT's 2 s); 20 s only bounds a hang.
      const sentAt = Date.now()
      const reply = await client.request({ type: 'message', room, text: clientId, clientId }, 20_000)
        .catch(() => ({ type: 'unanswered' }) as Frame)
      stats.longestWaitMs = Math.max(stats.longestWaitMs, Date.now() - sentAt)
      if (reply.type === 'unanswered') stats.unanswered++
      if (reply.type === 'ack') {
        acked.set(clientId, reply.seq as number)
        const now = Date.now()
        stats.longestStallMs = Math.max(stats.longestStallMs, now - lastAck)
        lastAck = now
        ackTimes.push(now)
        n++
        await sleep(pauseMs)
      } else {
        stats.errors++
        await sleep(100)
      }
      drainMessages(client)
    }
  })()
  return {
    acked,
    get errors () { return stats.errors },
    get unanswered () { return stats.unanswered },
    get longestStallMs () { return stats.longestStallMs },
    get longestWaitMs () { return stats.longestWaitMs },
    firstAckAfter: (since) => ackTimes.find((time) => time > since),
    async stop () {
      control.stopping = true
      await loop
    }
  }
}

/** The sender's own copies of its messages are not looked at: they are dropped so its queue stays small. */
function drainMessages (client: TestClient): void {
  if (client.frames.length > 100) client.frames.splice(0, client.frames.length, ...client.frames.filter((frame) => frame.type !== 'message'))
}

export interface Member {
  user: string
  /** The seqs of the room's messages, in the order they arrived. */
  seqs: () => number[]
  /** clientIds in arrival order. */
  clientIds: () => string[]
}

/** A member of `room` on `node` that records every message it receives there. */
export async function startMember (t: TestContext, node: Node, user: string, room: string): Promise<Member> {
  const client = await connectAs(t, node, user)
  await client.join(room)
  const received: Frame[] = []
  client.ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Frame
    if (frame.type === 'message' && frame.room === room) received.push(frame)
  })
  // The client's own queue is not read; frames recorded above are enough.
  const drain = setInterval(() => { client.frames.length = 0 }, 1000)
  t.after(() => clearInterval(drain))
  return {
    user,
    seqs: () => received.map((frame) => frame.seq as number),
    clientIds: () => received.map((frame) => frame.clientId as string)
  }
}

/** Every message of `room` in history, oldest first. */
export async function historyOf (node: Node, room: string): Promise<Frame[]> {
  const messages: Frame[] = []
  let before: number | undefined
  for (let page = 0; page < 1000; page++) {
    const query = before === undefined ? '?limit=100' : `?limit=100&before=${before}`
    const reply = await http(node.url, 'GET', `/rooms/${room}/messages${query}`)
    assert.equal(reply.status, 200, JSON.stringify(reply.body))
    const batch = reply.body.messages as Frame[]
    messages.unshift(...batch)
    if (batch.length < 100) break
    before = batch[0]!.seq as number
  }
  return messages
}

export interface DeliveryReport {
  acked: number
  stored: number
  /** Acknowledged messages not in history. */
  lost: string[]
  /** clientIds stored more than once. */
  storedTwice: string[]
  /** Seqs that were acknowledged to two different messages. */
  seqsGivenTwice: number[]
}

/**
 * What became of every acknowledged message of `room`: in history exactly once, under the seq it
 * was acknowledged with, no seq acknowledged to two messages.
 */
export async function deliveryReport (node: Node, room: string, senders: SenderStats[]): Promise<DeliveryReport> {
  const history = await historyOf(node, room)
  const stored = new Map<string, number[]>()
  for (const message of history) stored.set(message.clientId as string, [...stored.get(message.clientId as string) ?? [], message.seq as number])
  const bySeq = new Map<number, Set<string>>()
  const lost: string[] = []
  let acked = 0
  for (const sender of senders) {
    for (const [clientId, seq] of sender.acked) {
      acked++
      bySeq.set(seq, new Set([...bySeq.get(seq) ?? [], clientId]))
      if (!stored.get(clientId)?.includes(seq)) lost.push(clientId)
    }
  }
  return {
    acked,
    stored: history.length,
    lost,
    storedTwice: [...stored].filter(([, seqs]) => seqs.length > 1).map(([clientId]) => clientId),
    seqsGivenTwice: [...bySeq].filter(([, clientIds]) => clientIds.size > 1).map(([seq]) => seq)
  }
}

/** Waits until the member has received every stored message up to `lastSeq`, then checks its stream: in seq order, no seq twice, no hole. */
export async function assertContiguous (member: Member, lastSeq: number, firstSeq = 1): Promise<void> {
  await eventually(() => member.seqs().includes(lastSeq), 20_000, `${member.user} received seq ${lastSeq}`)
  const seqs = member.seqs()
  const expected = Array.from({ length: lastSeq - firstSeq + 1 }, (_v, i) => firstSeq + i)
  assert.deepEqual(seqs.slice(0, expected.length), expected, `${member.user}: every seq once, in order`)
}
