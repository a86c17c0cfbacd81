/**
 * How many Web Pushes one node sends per second, and what each costs it: `--members` users away
 * from one room, each subscribed to a local push sink (answering 201), and one sender posting
 * `--messages` messages, with a 1 ms window so that each message is a push to every member.
 * The clock runs from the first message to the last push's arrival; the server's CPU over the
 * same time, per push.
 *
 *   npm run build && node --import tsx bench/push-rate.ts [--members 1000] [--messages 50] [--rounds 3]
 */
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket from 'ws'
import { awayMembers, pushEnv, startPushSink } from './lib/push.ts'
import { compileBench, startServer } from './lib/servers.ts'
import { processCpuSeconds, taskset } from './lib/system.ts'

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '1000' },
    messages: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' }
  }
})
const MEMBERS = Number(values.members)
const MESSAGES = Number(values.messages)
const ROUNDS = Number(values.rounds)
/** Waiting for the last push is bounded: a sender that stalls ends the round as it is. */
const DRAIN_MS = 120_000

/** Sends the messages one after another, each once the previous is acknowledged. */
async function send (url: string, count: number): Promise<void> {
  const ws = new WebSocket(`${url}?user=sender`, { perMessageDeflate: false })
  let sent = 0
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('sender: not done within 60 s')), 60_000)
    ws.on('error', reject)
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string, ref?: string }
      const next = () => {
        if (sent === count) {
          clearTimeout(timer)
          return resolve()
        }
        ws.send(JSON.stringify({ type: 'message', room: 'room0', text: `message ${sent} to everyone away`, ref: `m${sent++}` }))
      }
      if (frame.type === 'welcome') ws.send(JSON.stringify({ type: 'join', room: 'room0', ref: 'j' }))
      else if (frame.type === 'joined' || (frame.type === 'ack' && frame.ref?.startsWith('m') === true)) next()
    })
  })
  ws.close()
}

const compiled = compileBench()
process.stdout.write(`push-rate: ${MEMBERS} members away in one room, ${MESSAGES} messages, window 1 ms, ${ROUNDS} rounds; pinning ${taskset() === null ? 'none' : 'server on CPU 0'}\n`)
for (let round = 1; round <= ROUNDS; round++) {
  const sink = await startPushSink()
  const server = await startServer('service', compiled.servers, { cpu: taskset() === null ? undefined : 0, env: pushEnv('push-every') })
  try {
    await awayMembers(server, 1, MEMBERS, sink)
    await sleep(500)
    const expected = MEMBERS * MESSAGES
    const cpuBefore = processCpuSeconds(server.pid)
    const started = Date.now()
    await send(server.clientUrl, MESSAGES)
    while (sink.requests() < expected && Date.now() - started < DRAIN_MS) await sleep(20)
    const seconds = (Date.now() - started) / 1000
    const cpu = processCpuSeconds(server.pid) - cpuBefore
    const pushes = sink.requests()
    process.stdout.write(`  round ${round}: ${pushes} of ${expected} pushes in ${seconds.toFixed(1)} s: ${(pushes / seconds).toFixed(0)} pushes/s, ` +
      `server CPU ${(cpu * 1e6 / pushes).toFixed(0)} µs per push (${(100 * cpu / seconds).toFixed(0)} % of a core)\n`)
  } finally {
    await server.stop()
    await sink.stop()
  }
}
