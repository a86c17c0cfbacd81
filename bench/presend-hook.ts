/**
 * What the text checks cost the chat path: the built service on SQLite, 100 clients in 10 rooms
 * of 10 sending `--rate` messages a second in all, under four settings in alternating rounds:
 * - none: no check;
 * - words: CHAT_BLOCKED_WORDS with 100 words;
 * - hook: CHAT_PRESEND_URL, a receiver (in this process) that answers `allow` at once;
 * - hung: the same receiver never answering for one of the 10 rooms (CHAT_PRESEND_TIMEOUT_MS 1500,
 *   failing open), answering the others at once.
 * Reported per setting (medians of the rounds): the service's CPU per message stored, send-to-ack
 * p50 and p99 of the rooms the hook answers, and for `hung` the hung room's p50.
 *
 *   npm run build && node --import tsx bench/presend-hook.ts [--rounds 3] [--seconds 10] [--rate 500]
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { Webhook } from 'standardwebhooks'
import { WebSocket } from 'ws'
import { percentile } from './lib/stats.ts'
import { killAll, startServer } from './lib/servers.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '500' }
  }
})
const ROUNDS = Number(values.rounds)
const SECONDS = Number(values.seconds)
const RATE = Number(values.rate)
const CLIENTS = 100
const ROOM_SIZE = 10
const HUNG_ROOM = 'room-0'
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'

type Setting = 'none' | 'words' | 'hook' | 'hung'
const SETTINGS: Setting[] = ['none', 'words', 'hook', 'hung']

/** The hook: verifies each signature (as a real receiver must) and answers allow, or nothing for the hung room when told to. */
let hangOne = false
let hookRequests = 0
const verifier = new Webhook(SECRET)
const hook = createServer((request, response) => {
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    hookRequests++
    const body = Buffer.concat(chunks).toString()
    const parsed = verifier.verify(body, request.headers as Record<string, string>) as { room: string }
    if (hangOne && parsed.room === HUNG_ROOM) return
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"action":"allow"}')
  })
})
await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', () => resolve()))
const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/check`
const WORDS = Array.from({ length: 100 }, (_v, i) => `blocked${i}`).join(',')

function envOf (setting: Setting): Record<string, string> {
  switch (setting) {
    case 'none': return {}
    case 'words': return { CHAT_BLOCKED_WORDS: WORDS }
    case 'hook':
    case 'hung': return { CHAT_PRESEND_URL: hookUrl, CHAT_WEBHOOK_SECRET: SECRET, CHAT_PRESEND_TIMEOUT_MS: '1500' }
  }
}

async function cpuSeconds (url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  return Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? NaN)
}

interface Result { cpuUsPerMessage: number, p50Ms: number, p99Ms: number, hungP50Ms: number, lost: number }

async function run (setting: Setting): Promise<Result> {
  hangOne = setting === 'hung'
  const server = await startServer('service', '', { env: { CHAT_DB: ':memory:', ...envOf(setting) } })
  const sockets: WebSocket[] = []
  const times: number[] = []
  const hungTimes: number[] = []
  const sentAt = new Map<string, number>()
  let acked = 0
  try {
    for (let i = 0; i < CLIENTS; i++) {
      const ws = new WebSocket(`${server.clientUrl}?user=u${i}`, { perMessageDeflate: false })
      const room = `room-${Math.floor(i / ROOM_SIZE)}`
      await new Promise<void>((resolve, reject) => {
        ws.once('message', () => resolve())
        ws.once('error', reject)
      })
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as { type: string, ref?: string }
        if (frame.type !== 'ack' || frame.ref === undefined) return
        const started = sentAt.get(frame.ref)
        if (started === undefined) return
        sentAt.delete(frame.ref)
        acked++;
        (frame.ref.startsWith(`${HUNG_ROOM}:`) ? hungTimes : times).push(performance.now() - started)
      })
      ws.send(JSON.stringify({ type: 'join', room }))
      sockets.push(ws)
    }
    await sleep(500)
    const cpuBefore = await cpuSeconds(server.httpUrl)
    const storedBefore = acked
    const interval = 1000 / RATE
    const end = performance.now() + SECONDS * 1000
    let sent = 0
    // Paced sends, round robin over the clients; bounded by the run's length.
    while (performance.now() < end) {
      const i = sent % CLIENTS
      const room = `room-${Math.floor(i / ROOM_SIZE)}`
      const ref = `${room}:${sent}`
      sentAt.set(ref, performance.now())
      sockets[i]!.send(JSON.stringify({ type: 'message', room, text: `message ${sent} about nothing much`, ref }))
      sent++
      const due = sent * interval - (performance.now() - (end - SECONDS * 1000))
      if (due > 1) await sleep(due)
    }
    // Every answer, the hung room's included (they give up after 1.5 s); bounded at 10 s.
    for (let i = 0; i < 200 && sentAt.size > 0; i++) await sleep(50)
    const cpu = await cpuSeconds(server.httpUrl) - cpuBefore
    times.sort((a, b) => a - b)
    hungTimes.sort((a, b) => a - b)
    return {
      cpuUsPerMessage: cpu * 1e6 / Math.max(1, acked - storedBefore),
      p50Ms: percentile(times, 0.5),
      p99Ms: percentile(times, 0.99),
      hungP50Ms: hungTimes.length === 0 ? NaN : percentile(hungTimes, 0.5),
      lost: sentAt.size
    }
  } finally {
    for (const ws of sockets) ws.terminate()
    await server.stop()
  }
}

const results = new Map<Setting, Result[]>(SETTINGS.map((setting) => [setting, []]))
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const setting of SETTINGS) {
      const result = await run(setting)
      results.get(setting)!.push(result)
      process.stderr.write(`round ${round + 1} ${setting}: ${JSON.stringify(result)}\n`)
    }
  }
} finally {
  killAll()
  hook.close()
}

const median = (values: number[]) => {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b)
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!
}
const base = median(results.get('none')!.map((r) => r.cpuUsPerMessage))
const baseP99 = median(results.get('none')!.map((r) => r.p99Ms))
process.stdout.write(`\n${RATE} messages/s for ${SECONDS} s, ${CLIENTS} clients in rooms of ${ROOM_SIZE}, ${ROUNDS} rounds (medians); hook requests ${hookRequests}\n\n`)
process.stdout.write('| setting | CPU per message | × none | ack p50 | ack p99 | × none | hung room\'s ack p50 | unanswered |\n|---|---|---|---|---|---|---|---|\n')
for (const setting of SETTINGS) {
  const runs = results.get(setting)!
  const cpu = median(runs.map((r) => r.cpuUsPerMessage))
  const p99 = median(runs.map((r) => r.p99Ms))
  const hung = setting === 'hung' ? median(runs.map((r) => r.hungP50Ms)) : NaN
  process.stdout.write(`| ${setting} | ${cpu.toFixed(0)} µs | ${(cpu / base).toFixed(2)} | ${median(runs.map((r) => r.p50Ms)).toFixed(2)} ms | ` +
    `${p99.toFixed(2)} ms | ${(p99 / baseP99).toFixed(2)} | ${Number.isNaN(hung) ? '–' : `${hung.toFixed(0)} ms`} | ${runs.reduce((sum, r) => sum + r.lost, 0)} |\n`)
}
process.exit(0)
