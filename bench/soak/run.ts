import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { eventually } from '../../test/helper.ts'
import { launchReplicatedCluster, type ReplicatedCluster, replication, type Scope } from '../../test/redis-faults.ts'
import { percentile } from '../lib/stats.ts'
import { killAll, ROOT, type ServerHandle, startServer } from '../lib/servers.ts'
import { type Panel, soakChart } from './chart.ts'
import { type Fleet, type FleetCounters, startFleet } from './fleet.ts'
import { type NodeSample, scrape } from './metrics.ts'

const USAGE = `npm run soak -- [options]
  --engine sqlite|cluster     sqlite: one node on SQLite; cluster: two nodes on a Redis Cluster of 3 primaries
                              with a replica each, CHAT_REDIS_ACK_REPLICAS=1 (default sqlite)
  --minutes N                 how long the load runs (default 60)
  --connections N             clients, one connection each (default 1000)
  --room-size N               members per room (default 10)
  --send-every-ms N           mean pause between two sends of one client (default 20000: 50 messages/s for 1000)
  --churn-per-minute N        clients closed and reopened each minute, re-joining with since (default 50)
  --failover-every-minutes N  cluster: kill a random primary this often, then start it again (default 5)
  --sample-seconds N          how often each node's /metrics is read (default 30)
  --out name                  bench/results/soak-<name>.json and docs/soak-<name>.svg (default the engine)`

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    minutes: { type: 'string', default: '60' },
    connections: { type: 'string', default: '1000' },
    'room-size': { type: 'string', default: '10' },
    'send-every-ms': { type: 'string', default: '20000' },
    'churn-per-minute': { type: 'string', default: '50' },
    'failover-every-minutes': { type: 'string', default: '5' },
    'sample-seconds': { type: 'string', default: '30' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false }
  }
})
if (args.help) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}
const engine = args.engine
if (engine !== 'sqlite' && engine !== 'cluster') throw new Error(`--engine must be sqlite or cluster, not ${engine}`)
const number = (name: keyof typeof args) => {
  const value = Number(args[name])
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number ≥ 0, not ${String(args[name])}`)
  return value
}
const minutes = number('minutes')
const sampleMs = number('sample-seconds') * 1000
const churnPerMinute = number('churn-per-minute')
const failoverEveryMs = number('failover-every-minutes') * 60_000
const out = args.out ?? engine

/** Cleanups of the Redis processes, run at the end (each may register more). */
const cleanups: (() => unknown)[] = []
const scope: Scope = { after: (fn) => { cleanups.push(fn) } }
const root = mkdtempSync(join(tmpdir(), 'chat-soak-'))

const serviceEnv: Record<string, string> = {
  // History long enough to hold every message of the run, so the end can find each acknowledged one.
  CHAT_HISTORY_LIMIT: '100000',
  CHAT_HEARTBEAT_MS: '10000'
}
let cluster: ReplicatedCluster | undefined
if (engine === 'cluster') {
  cluster = await launchReplicatedCluster(scope, root, 3, 1)
  Object.assign(serviceEnv, { REDIS_URL: cluster.config.REDIS_URL, CHAT_REDIS_CLUSTER: 'true', CHAT_REDIS_ACK_REPLICAS: '1' })
}
const nodes: ServerHandle[] = []
for (let i = 0; i < (engine === 'cluster' ? 2 : 1); i++) nodes.push(await startServer('service', '', { env: serviceEnv }))
process.stderr.write(`soak: ${engine}, ${nodes.length} node(s), ${args.connections} connections, ${minutes} min\n`)

const started = Date.now()
const minute = () => (Date.now() - started) / 60_000
const fleet: Fleet = await startFleet({
  urls: nodes.map((node) => node.clientUrl),
  connections: number('connections'),
  roomSize: number('room-size'),
  sendEveryMs: number('send-every-ms'),
  pingEveryMs: 25_000,
  answerTimeoutMs: 15_000
})
process.stderr.write(`soak: ${fleet.connected()} clients joined in ${((Date.now() - started) / 1000).toFixed(1)} s\n`)

interface Sample {
  minute: number
  nodes: NodeSample[]
  counters: FleetCounters
  connected: number
  ackP50Ms: number
  ackP99Ms: number
}
const samples: Sample[] = []
const faults: { minute: number, label: string, promotedMs?: number, backMs?: number }[] = []
const endAt = started + minutes * 60_000

async function sampleLoop (): Promise<void> {
  while (Date.now() < endAt) {
    await sleep(Math.min(sampleMs, Math.max(0, endAt - Date.now())))
    const times = fleet.takeAckTimes().sort((a, b) => a - b)
    const sample: Sample = {
      minute: minute(),
      nodes: await Promise.all(nodes.map((node) => scrape(node.httpUrl))),
      counters: structuredClone(fleet.counters),
      connected: fleet.connected(),
      ackP50Ms: times.length === 0 ? 0 : percentile(times, 0.5),
      ackP99Ms: times.length === 0 ? 0 : percentile(times, 0.99)
    }
    samples.push(sample)
    const c = sample.counters
    process.stderr.write(`${sample.minute.toFixed(1)} min: ${sample.connected} joined, acked ${c.acked}/${c.sent}, ` +
      `delivered ${c.delivered}, dup ${c.duplicates}, gaps ${c.gaps}, errors ${JSON.stringify(c.errors)}, ` +
      `ack p99 ${sample.ackP99Ms.toFixed(0)} ms; ` + sample.nodes.map((n) => `rss ${(n.rssBytes / 2 ** 20).toFixed(0)} MB ` +
      `heap ${(n.heapUsedBytes / 2 ** 20).toFixed(0)} MB handles ${n.handles} eld p99 ${(n.eventLoopP99Seconds * 1000).toFixed(1)} ms`).join(' | ') + '\n')
  }
}

async function churnLoop (): Promise<void> {
  // A tenth of the minute's churn every 6 s.
  while (Date.now() < endAt) {
    await sleep(6000)
    fleet.churn(Math.round(churnPerMinute / 10))
  }
}

async function failoverLoop (): Promise<void> {
  if (cluster === undefined || failoverEveryMs === 0) return
  while (Date.now() + failoverEveryMs < endAt) {
    await sleep(failoverEveryMs)
    const primaries = cluster.primaries()
    const victim = primaries[Math.floor(Math.random() * primaries.length)]!
    const fault = { minute: minute(), label: 'a primary killed' } as typeof faults[number]
    faults.push(fault)
    const killed = Date.now()
    await victim.kill()
    await eventually(() => cluster!.primaries().length === primaries.length && !cluster!.primaries().includes(victim), 60_000, 'a replica takes over')
    await cluster.settled(60_000)
    fault.promotedMs = Date.now() - killed
    // Started again only once its replica took over: a primary without persistence that came back
    // before that would still own its slots, empty, and its replica would copy the empty data set.
    await sleep(1000)
    await victim.start()
    await eventually(() => replication(victim).master_link_status === 'up', 60_000, 'the old primary is a replica again')
    fault.backMs = Date.now() - killed
    process.stderr.write(`failover at ${fault.minute.toFixed(1)} min: replica took over in ${fault.promotedMs} ms, old primary back as a replica after ${fault.backMs} ms\n`)
  }
}

/** Every message of `room` in history, by seq. */
async function historyOf (url: string, room: string): Promise<Map<number, string>> {
  const stored = new Map<number, string>()
  let before: number | undefined
  for (let page = 0; page < 10_000; page++) {
    const reply = await fetch(`${url}/rooms/${room}/messages?limit=100${before === undefined ? '' : `&before=${before}`}`)
    if (reply.status !== 200) throw new Error(`history of ${room}: ${reply.status} ${await reply.text()}`)
    const batch = (await reply.json() as { messages: { seq: number, id: string }[] }).messages
    for (const message of batch) stored.set(message.seq, message.id)
    if (batch.length < 100) break
    before = batch[0]!.seq
  }
  return stored
}

let exitCode = 0
try {
  await Promise.all([sampleLoop(), churnLoop(), failoverLoop()])
  await fleet.quiesce()
  // Members catch up with the last messages, then every acknowledged message is looked for in history.
  const lastAcked = new Map([...fleet.acked].map(([room, seqs]) => [room, Math.max(...seqs.keys())]))
  const behind = () => fleet.positions().filter(({ room, lastSeq }) => lastSeq < (lastAcked.get(room) ?? 0)).length
  const caughtUpBy = Date.now() + 30_000
  while (behind() > 0 && Date.now() < caughtUpBy) await sleep(500)
  let lost = 0
  let checked = 0
  for (const [room, seqs] of fleet.acked) {
    const stored = await historyOf(nodes[0]!.httpUrl, room)
    for (const [seq, id] of seqs) {
      checked++
      if (stored.get(seq) !== id) lost++
    }
  }
  const final = fleet.counters
  const first = samples.find((sample) => sample.minute >= 5) ?? samples[0]
  const last = samples.at(-1)
  const summary = {
    engine,
    nodes: nodes.length,
    minutes: Number(minute().toFixed(1)),
    connections: number('connections'),
    messagesAcked: final.acked,
    checkedInHistory: checked,
    lostAcknowledged: lost,
    seqsGivenTwice: final.seqsGivenTwice,
    duplicatesDelivered: final.duplicates,
    gapsInMembersStreams: final.gaps,
    unrecoveredRejoins: final.unrecovered,
    membersBehindAtEnd: behind(),
    sendErrors: final.errors,
    unanswered: final.unanswered,
    resent: final.resent,
    abandoned: final.abandoned,
    churned: final.churned,
    dropped: final.dropped,
    dropCodes: final.dropCodes,
    faults,
    rssMiB: nodes.map((_n, i) => ({
      atFiveMinutes: Number(((first?.nodes[i]?.rssBytes ?? 0) / 2 ** 20).toFixed(1)),
      atEnd: Number(((last?.nodes[i]?.rssBytes ?? 0) / 2 ** 20).toFixed(1))
    })),
    heapUsedMiB: nodes.map((_n, i) => ({
      atFiveMinutes: Number(((first?.nodes[i]?.heapUsedBytes ?? 0) / 2 ** 20).toFixed(1)),
      atEnd: Number(((last?.nodes[i]?.heapUsedBytes ?? 0) / 2 ** 20).toFixed(1))
    })),
    handles: nodes.map((_n, i) => ({ atFiveMinutes: first?.nodes[i]?.handles, atEnd: last?.nodes[i]?.handles })),
    eventLoopP99MsWorst: Number((Math.max(0, ...samples.flatMap((s) => s.nodes.map((n) => n.eventLoopP99Seconds))) * 1000).toFixed(1)),
    ackP99MsWorst: Number(Math.max(0, ...samples.map((s) => s.ackP99Ms)).toFixed(1))
  }
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n')
  if (lost > 0 || final.seqsGivenTwice > 0 || final.duplicates > 0 || final.gaps > 0) exitCode = 1

  mkdirSync(join(ROOT, 'bench/results'), { recursive: true })
  writeFileSync(join(ROOT, `bench/results/soak-${out}.json`), JSON.stringify({ summary, samples }, null, 1) + '\n')
  const perNode = (pick: (node: NodeSample) => number) => nodes.map((_n, i) => ({
    name: nodes.length === 1 ? 'the node' : `node ${i + 1}`,
    points: samples.map((sample) => [Number(sample.minute.toFixed(2)), pick(sample.nodes[i]!)] as [number, number])
  }))
  const panels: Panel[] = [
    { title: 'Resident memory', unit: 'MiB', series: perNode((n) => n.rssBytes / 2 ** 20) },
    { title: 'JS heap used', unit: 'MiB', series: perNode((n) => n.heapUsedBytes / 2 ** 20) },
    { title: 'Active handles', unit: 'count', series: perNode((n) => n.handles) },
    { title: 'Event-loop delay p99', unit: 'ms', series: perNode((n) => n.eventLoopP99Seconds * 1000) },
    {
      title: 'Duplicates and gaps in members\' streams, seqs given twice (cumulative)',
      unit: 'messages',
      series: [
        { name: 'duplicates', points: samples.map((s) => [s.minute, s.counters.duplicates]) },
        { name: 'gaps', points: samples.map((s) => [s.minute, s.counters.gaps]) },
        { name: 'seqs given twice', points: samples.map((s) => [s.minute, s.counters.seqsGivenTwice]) }
      ]
    },
    { title: 'Send to ack, p99 per sample', unit: 'ms', series: [{ name: 'ack p99', points: samples.map((s) => [s.minute, s.ackP99Ms]) }] }
  ]
  const title = `Soak, ${engine === 'sqlite' ? 'SQLite, one node' : 'Redis Cluster of 3+3, two nodes'}: ` +
    `${summary.connections} connections, ${summary.minutes} min, ${summary.messagesAcked} acked, ${lost} lost`
  writeFileSync(join(ROOT, `docs/soak-${out}.svg`), soakChart(title, panels, faults))
} catch (err) {
  process.stderr.write(`soak failed: ${String((err as Error).stack ?? err)}\n`)
  exitCode = 1
} finally {
  fleet.close()
  for (const node of nodes) await node.stop()
  while (cleanups.length > 0) await cleanups.pop()!()
  killAll()
  rmSync(root, { recursive: true, force: true })
}
process.exit(exitCode)
