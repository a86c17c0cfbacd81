import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { LoadWorker } from './load/pool.ts'
import {
  type Results, type RunRecord, SCENARIOS, type Scenario, type ScenarioRecord, chart, checkTargets, table, targetsText
} from './lib/report.ts'
import { FULL, type Load, type Metrics, type Params, type Probe, SMOKE, chat, fanout, idle, rest, rooms } from './lib/scenarios.ts'
import { POSTGRES_KINDS, ROOT, type ServerHandle, type ServerKind, compileBench, killAll, startServer, stopPostgres } from './lib/servers.ts'
import { postgresBinDir } from './lib/postgres.ts'
import { DEPLOYMENTS, type Deployment, type DeploymentKind, crossNode, startDeployment } from './lib/cross-node.ts'
import { machine, pinSelf } from './lib/system.ts'
import { awayMembers, PUSH_TARGETS, type PushSink, type PushTarget, pushEnv, startPushSink } from './lib/push.ts'
import { type Receiver, startReceiver, WEBHOOK_TARGETS, type WebhookTarget, webhookEnv } from './lib/webhooks.ts'
import { RemoteProfiler } from './lib/inspector.ts'
import { profileText, summarizeProfile } from './profile-summary.ts'

const USAGE = `npm run bench -- [options]
  --scenario fanout|rooms|chat|idle|connect|rest|cross-node|webhooks|push|all   (default all; a comma-separated list works too;
                      webhooks: the rooms load on the service with no webhook URL, then with one that never answers;
                      push: the chat load with as many members away and subscribed as connected, without Web Push,
                      with it, and with a 1 ms window: every message a push to every away member)
  --rounds N          rounds per target, targets alternating A B C A B C… (default 3)
  --targets list      of service,bare,socketio,durable,service-pg,durable-pg (default the first four; durable,
                      the bare hub storing every message in SQLite, runs in the rooms scenario only; rest
                      compares service with bare Fastify). On PostgreSQL (one server for the run, PostgreSQL's
                      defaults: fsync and synchronous_commit on, a database per round): service-pg, the service
                      with CHAT_DATABASE_URL; durable-pg, the bare hub with one PostgreSQL transaction per
                      message (rooms only). --smoke adds both to rooms and chat when PostgreSQL is installed
  --deployments list  cross-node deployments, of service,redis-1,redis-2,durable,bare-redis-2 (default all five)
  --smoke             100 clients, 1 round, short durations; no thresholds (for CI)
  --out path          JSON results (default bench/results/latest.json, smoke.json with --smoke); a run
                      keeps the scenarios it did not run from that file
  --chart path        SVG chart (default bench/chart.svg for a full run into the default --out with the
                      built service; otherwise bench/results/chart-<out>.svg)
  --window N          fan-out messages awaiting their ack at most (default 1)
  --profile           one round, the service only (unless --targets), fanout unless --scenario: profiles
                      each server over the measured window (V8 sampling profiler through the inspector)
                      and summarises the profile; results are not written
  --profile-dir dir   where the .cpuprofile files go (default a new directory under /tmp)
  --service file      the service entry to run (default dist/src/server.js), e.g. another build to compare
  --compare file      a second service entry: every target that runs the service runs again with it as
                      <target>@b, right after, so an A/B of two builds shares each round's conditions
  --report            print the tables and targets (markdown) from --out and redraw the chart; run nothing
The service starts as npm start starts it, through bin/engine-node (node's flags chosen by engine).
Environment: BENCH_SERVER_NODE_OPTIONS is NODE_OPTIONS for the servers under test (say
--perf-basic-prof-only-functions, to read their JavaScript frames in perf); BENCH_COMPARE_NODE_OPTIONS,
when set, is NODE_OPTIONS for the --compare build instead (an A/B of node flags: --compare with the
same entry as --service). A --max-semi-space-size in either overrides the launcher's.`

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'all' },
    rounds: { type: 'string' },
    targets: { type: 'string' },
    deployments: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' },
    chart: { type: 'string' },
    window: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'profile-dir': { type: 'string' },
    report: { type: 'boolean', default: false },
    service: { type: 'string' },
    compare: { type: 'string' },
    help: { type: 'boolean', default: false }
  }
})

if (args.help) {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}

const mode: Results['mode'] = args.profile ? 'profile' : args.smoke ? 'smoke' : 'full'
// A smoke run keeps its own file, so it never replaces the results of a full run.
const out = args.out ?? (mode === 'smoke' ? 'bench/results/smoke.json' : 'bench/results/latest.json')
const outPath = resolve(ROOT, out)
// Only a full run with the default results and the built service redraws the committed chart.
const defaultChart = mode === 'full' && out === 'bench/results/latest.json' && args.service === undefined && args.compare === undefined
const chartPath = resolve(ROOT, args.chart ?? (defaultChart ? 'bench/chart.svg' : `bench/results/chart-${basename(out, '.json')}.svg`))
const log = (line: string) => process.stdout.write(line + '\n')

function fail (message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`)
  process.exit(2)
}

const scenarios: Scenario[] = args.scenario === 'all'
  ? args.profile ? ['fanout'] : [...SCENARIOS]
  : args.scenario.split(',').map((name) => {
    if (!(SCENARIOS as readonly string[]).includes(name)) fail(`unknown scenario ${name}`)
    return name as Scenario
  })
// A smoke run covers the PostgreSQL targets briefly (rooms and chat) when PostgreSQL is installed;
// a full run has them only when --targets names them, so the default run keeps its length.
const smokePostgres = args.smoke && args.targets === undefined && postgresBinDir() !== undefined
const wsTargets: ServerKind[] = (args.targets ?? (args.profile ? 'service' : `service,bare,socketio,durable${smokePostgres ? ',service-pg,durable-pg' : ''}`)).split(',').map((name) => {
  if (!['service', 'bare', 'durable', 'socketio', ...POSTGRES_KINDS].includes(name)) fail(`unknown target ${name}`)
  return name as ServerKind
})
const deployments: DeploymentKind[] = (args.deployments ?? DEPLOYMENTS.join(',')).split(',').map((name) => {
  if (!(DEPLOYMENTS as readonly string[]).includes(name)) fail(`unknown deployment ${name}`)
  return name as DeploymentKind
})
const rounds = args.smoke || args.profile ? 1 : Number(args.rounds ?? 3)
if (!Number.isInteger(rounds) || rounds < 1) fail('--rounds must be a positive integer')
const params: Params = structuredClone(args.smoke ? SMOKE : FULL)
if (args.window !== undefined) params.fanout.window = Number(args.window)
if (!Number.isInteger(params.fanout.window) || params.fanout.window < 1) fail('--window must be a positive integer')

function revision (): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
    const changes = execFileSync('git', ['status', '--porcelain', '--', 'src', 'plugins', 'routes'], { cwd: ROOT, encoding: 'utf8' }).trim()
    return changes === '' ? commit : `${commit}+modified`
  } catch {
    return 'unknown'
  }
}

function previousResults (): Results | undefined {
  if (!existsSync(outPath)) return undefined
  try {
    const previous = JSON.parse(readFileSync(outPath, 'utf8')) as Results
    return previous.version === 1 && previous.mode === mode ? previous : undefined
  } catch {
    return undefined
  }
}

function report (results: Results, markdown: boolean): void {
  for (const scenario of SCENARIOS) {
    const record = results.scenarios[scenario]
    if (record === undefined) continue
    log(`\n${markdown ? '### ' : '== '}${scenario} (${record.rounds} round${record.rounds === 1 ? '' : 's'}, ${record.at.slice(0, 16)}; ratios: median / median of ${record.baseline})`)
    if (markdown) log('')
    log(table(record, markdown))
    const failures = record.runs.filter((run) => run.error !== undefined)
    for (const run of failures) log(`  round ${run.round} ${run.target} failed: ${run.error}`)
  }
  log(`\n${markdown ? '### ' : '== '}targets${mode === 'full' ? '' : ` (${mode} run: thresholds not evaluated)`}`)
  if (markdown) log('')
  log(targetsText(checkTargets(results), markdown))
}

function writeOutputs (results: Results): void {
  mkdirSync(dirname(outPath), { recursive: true })
  writeFileSync(outPath, JSON.stringify(results, null, 2) + '\n')
  mkdirSync(dirname(chartPath), { recursive: true })
  writeFileSync(chartPath, chart(results))
}

if (args.report) {
  const results = previousResults()
  if (results === undefined) fail(`no ${mode} results in ${out}`)
  report(results, true)
  writeOutputs(results)
  log(`\nchart: ${relative(ROOT, chartPath)}`)
  process.exit(0)
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}
process.once('exit', killAll)

const pinned = pinSelf(1)
const info = machine()
log(`machine: ${info.cpuModel}, ${info.cores} cores, Node ${info.node}, CLK_TCK ${info.clkTck}, open files ${info.openFilesLimit}; service at ${revision()}`)
log(pinned
  ? 'pinning: servers on CPU 0, load generator (this process and its workers) on CPU 1'
  : `pinning: off (${info.taskset ? 'fewer than 2 cores' : 'taskset not found'}); servers and load share the cores`)
if (params.idle.connections + 1000 > info.openFilesLimit && scenarios.includes('idle')) {
  log(`warning: the open-file limit (${info.openFilesLimit}) is low for ${params.idle.connections} client connections`)
}

const compiled = compileBench()
const workers = [0, 1, 2].map(() => new LoadWorker(compiled.worker))
const profileDir = args.profile ? (args['profile-dir'] ?? mkdtempSync(join(tmpdir(), 'chat-bench-prof-'))) : undefined
if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true })
const profiles: string[] = []
let profileName = ''
let profiler: RemoteProfiler | undefined
const probe: Probe | undefined = profileDir === undefined
  ? undefined
  : {
      async start (server) {
        profiler = await RemoteProfiler.start(server.pid, server.inspectPort)
      },
      async stop (_server, part) {
        const file = join(profileDir, `${profileName}${part === undefined ? '' : `-${part}`}.cpuprofile`)
        await profiler?.stop(file)
        profiler = undefined
        profiles.push(file)
      }
    }
const load: Load = { sender: workers[0]!, receivers: workers.slice(1), all: workers, probe }

const results: Results = previousResults() ?? {
  version: 1, mode, machine: info, revision: '', command: '', updatedAt: '', scenarios: {}
}
results.machine = info
results.revision = args.service === undefined ? revision() : `${args.service} (given with --service)`
if (args.compare !== undefined) results.revision += `; @b: ${args.compare}`
results.command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim()

async function measure (scenario: Exclude<Scenario, 'cross-node'>, server: ServerHandle): Promise<Metrics> {
  switch (scenario) {
    case 'webhooks': return rooms(server, load, params)
    case 'push': return chat(server, load, params)
    case 'fanout': return fanout(server, load, params)
    case 'rooms': return rooms(server, load, params)
    case 'chat': return chat(server, load, params)
    case 'idle': return idle(server, load, params)
    case 'connect': return idle(server, load, params, params.connectJoin)
    case 'rest': return rest(server, params, probe)
  }
}

function brief (scenario: Scenario, metrics: Metrics): string {
  const f = (value: number | undefined, digits = 2) => value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits)
  switch (scenario) {
    case 'fanout':
    case 'rooms':
    case 'chat':
    case 'webhooks':
    case 'push':
      return `${f(metrics.cpuUsPerDelivery)} µs/delivery${metrics.dbCpuUsPerDelivery === undefined ? '' : ` (+ PostgreSQL ${f(metrics.dbCpuUsPerDelivery)})`}, ${f(metrics.deliveriesPerSec, 0)} deliveries/s, p50 ${f(metrics.p50Ms)} ms, p99 ${f(metrics.p99Ms)} ms, sent ${metrics.sent}, lost ${metrics.lost}${metrics.timedOut === 1 ? ' (TIMED OUT)' : ''}, cores ${f(metrics.core0Busy, 0)}%/${f(metrics.core1Busy, 0)}%`
    case 'idle':
    case 'connect':
      return `${f(metrics.serverCpuUsPerConnect, 1)} µs/connect+join, ${f(metrics.rssKiBPerConn)} KiB/connection, ${f(metrics.connectsPerSec, 0)} connects/s, held ${metrics.held}, failed ${metrics.failed}`
    case 'rest':
      return `GET ${f(metrics.getRps, 0)} req/s (p99 ${f(metrics.getP99Ms, 1)} ms), POST ${f(metrics.postRps, 0)} req/s (p99 ${f(metrics.postP99Ms, 1)} ms), errors ${metrics.getErrors}/${metrics.postErrors}`
    case 'cross-node':
      return `${f(metrics.cpuUsPerDelivery)} µs/delivery (+ Redis ${f(metrics.redisCpuUsPerDelivery)}), ${f(metrics.deliveriesPerSec, 0)} deliveries/s, p99 ${f(metrics.p99Ms)} ms, lost ${metrics.lost}, idle node ${f(metrics.idleNodeCpuPct, 1)}% CPU vs busy ${f(metrics.busyNodeCpuPct, 1)}%`
  }
}

/** The suffix of a target run with the --compare build. */
const COMPARED = '@b'
const runsService = (scenario: Scenario, target: string) =>
  scenario === 'webhooks' || scenario === 'push' || target === 'service' || target === 'service-pg' || (scenario === 'cross-node' && target.startsWith('redis-'))

const started = Date.now()
for (const scenario of scenarios) {
  const chosen: string[] = scenario === 'cross-node'
    ? deployments
    : scenario === 'webhooks'
      ? [...WEBHOOK_TARGETS]
      : scenario === 'push'
        ? [...PUSH_TARGETS]
        : scenario === 'rest'
          ? [...(wsTargets.includes('service') ? ['service' as const] : []), ...(!args.profile || wsTargets.includes('bare') ? ['fastify' as const] : [])]
          : wsTargets.filter((target) =>
            // The price of durability alone is measured where messages are the whole load.
            ((target !== 'durable' && target !== 'durable-pg') || scenario === 'rooms') &&
            // A smoke run adds the PostgreSQL targets to rooms and chat only.
            (!smokePostgres || !POSTGRES_KINDS.includes(target) || scenario === 'rooms' || scenario === 'chat') &&
            // The Socket.IO reference speaks no typing, read or edit.
            (target !== 'socketio' || scenario !== 'chat'))
  const targets = args.compare === undefined
    ? chosen
    : chosen.flatMap((target) => runsService(scenario, target) ? [target, target + COMPARED] : [target])
  const record: ScenarioRecord = {
    scenario,
    baseline: scenario === 'rest' ? 'fastify' : scenario === 'cross-node' ? 'redis-1' : scenario === 'webhooks' ? 'no-url' : scenario === 'push' ? 'no-push' : 'bare',
    targets,
    rounds,
    params: {
      fanout: params.fanout,
      rooms: params.rooms,
      chat: params.chat,
      idle: params.idle,
      connect: params.connectJoin,
      rest: params.rest,
      'cross-node': params.crossNode,
      webhooks: params.rooms,
      push: { ...params.chat, away: params.chat.perRoom }
    }[scenario],
    at: new Date().toISOString(),
    runs: []
  }
  log(`\n== ${scenario}: ${targets.join(', ')} × ${rounds} round${rounds === 1 ? '' : 's'}`)
  for (let round = 1; round <= rounds; round++) {
    for (const target of targets) {
      const run: RunRecord = { target, round, at: new Date().toISOString() }
      const t0 = Date.now()
      let server: ServerHandle | Deployment | undefined
      let receiver: Receiver | undefined
      let sink: PushSink | undefined
      profileName = `${scenario}-${target}-round${round}`
      const kind = target.endsWith(COMPARED) ? target.slice(0, -COMPARED.length) : target
      const entry = kind === target ? args.service : args.compare
      const options = {
        cpu: pinned ? 0 : undefined,
        serviceEntry: entry === undefined ? undefined : resolve(entry),
        nodeOptions: kind === target ? undefined : process.env.BENCH_COMPARE_NODE_OPTIONS
      }
      try {
        if (scenario === 'cross-node') {
          const deployment = server = await startDeployment(kind as DeploymentKind, compiled.servers, options)
          run.metrics = await crossNode(deployment, load, params)
        } else if (scenario === 'webhooks') {
          // The same service, with every event recorded and sent to a URL that answers, or never does.
          if (kind !== 'no-url') receiver = await startReceiver(kind === 'hung-url')
          const single = server = await startServer('service', compiled.servers, { ...options, env: webhookEnv(kind as WebhookTarget, receiver) })
          run.metrics = { ...await measure(scenario, single), webhookRequests: receiver?.requests() ?? 0 }
        } else if (scenario === 'push') {
          // The same service and chat load, as many members away as connected in each room, each subscribed.
          sink = await startPushSink()
          const single = server = await startServer('service', compiled.servers, { ...options, env: pushEnv(kind as PushTarget) })
          await awayMembers(single, params.chat.rooms, params.chat.perRoom, sink)
          const metrics = await measure(scenario, single)
          run.metrics = { ...metrics, pushRequests: sink.requests(), pushesPerSec: sink.requests() / (metrics.seconds ?? NaN) }
        } else {
          const single = server = await startServer(kind as ServerKind, compiled.servers, options)
          run.metrics = await measure(scenario, single)
        }
        log(`  round ${round} ${target.padEnd(10)} ${brief(scenario, run.metrics)}  [${((Date.now() - t0) / 1000).toFixed(0)} s]`)
      } catch (error) {
        run.error = error instanceof Error ? error.message : String(error)
        log(`  round ${round} ${target.padEnd(10)} FAILED: ${run.error}`)
        if (server !== undefined) log(server.output().split('\n').slice(-10).join('\n'))
      } finally {
        await Promise.all(workers.map((worker) => worker.close().catch(() => {})))
        await server?.stop()
        await receiver?.stop()
        await sink?.stop()
      }
      record.runs.push(run)
    }
  }
  results.scenarios[scenario] = record
  results.updatedAt = new Date().toISOString()
  if (!args.profile) writeOutputs(results)
}

await Promise.all(workers.map((worker) => worker.terminate()))
await stopPostgres()
report(results, false)
log(`\nresults: ${relative(ROOT, outPath)}${args.profile ? ' (not written in --profile mode)' : ''}`)
if (!args.profile) log(`chart: ${relative(ROOT, chartPath)}`)
log(`took ${((Date.now() - started) / 1000).toFixed(0)} s`)

if (profileDir !== undefined) {
  if (profiles.length === 0) log(`\nno profile was written to ${profileDir}`)
  for (const file of profiles) {
    log(`\n== profile of ${basename(file, '.cpuprofile')} over the measured window: ${file}\n`)
    log(profileText(summarizeProfile(file), 30))
  }
}
