import type { Metrics } from './scenarios.ts'
import { type Spread, spread } from './stats.ts'
import type { Machine } from './system.ts'

/** Results on disk, their summary (medians, spreads, ratios), the targets, and the chart. */

export const SCENARIOS = ['fanout', 'rooms', 'chat', 'idle', 'connect', 'rest', 'cross-node', 'webhooks', 'push'] as const
export type Scenario = typeof SCENARIOS[number]

export interface RunRecord {
  target: string
  round: number
  at: string
  metrics?: Metrics
  error?: string
}

export interface ScenarioRecord {
  scenario: Scenario
  /** The target every ratio is taken against. */
  baseline: string
  targets: string[]
  rounds: number
  params: unknown
  at: string
  runs: RunRecord[]
}

export interface Results {
  version: 1
  mode: 'full' | 'smoke' | 'profile'
  machine: Machine
  /** The commit the service was built from; `+modified` when src/, plugins/ or routes/ had local changes. */
  revision: string
  command: string
  updatedAt: string
  scenarios: Partial<Record<Scenario, ScenarioRecord>>
}

interface MetricInfo { key: string, label: string, unit: string }

/** The rooms load's figures; the webhooks scenario runs the same load. */
const ROOMS_METRICS: MetricInfo[] = [
  { key: 'cpuUsPerDelivery', label: 'server CPU per delivery', unit: 'µs' },
  { key: 'deliveriesPerSec', label: 'deliveries/s', unit: '' },
  { key: 'p50Ms', label: 'latency p50', unit: 'ms' },
  { key: 'p99Ms', label: 'latency p99', unit: 'ms' },
  { key: 'lost', label: 'lost deliveries', unit: '' },
  { key: 'sent', label: 'messages sent', unit: '' },
  { key: 'serverRssMiB', label: 'server RSS', unit: 'MiB' },
  { key: 'dbCpuUsPerDelivery', label: 'PostgreSQL server CPU per delivery (postmaster and backends)', unit: 'µs' },
  { key: 'dbPssMiB', label: 'PostgreSQL server memory (PSS of its processes)', unit: 'MiB' },
  { key: 'core0Busy', label: 'core 0 busy (server)', unit: '%' },
  { key: 'core1Busy', label: 'core 1 busy (clients)', unit: '%' }
]

/** Rows only targets on PostgreSQL have: left out of a table where no target has them. */
const DATABASE_KEYS = new Set(['dbCpuUsPerDelivery', 'dbPssMiB'])

/**
 * Ratios shown besides those to the baseline, when both targets ran: each PostgreSQL target to
 * its durable reference, and the service to the durable reference on SQLite.
 */
const PAIRS: [string, string][] = [['service', 'durable'], ['service-pg', 'durable-pg'], ['service-pg', 'durable'], ['durable-pg', 'durable'], ['service-pg', 'service']]

const CONNECTION_METRICS: MetricInfo[] = [
  { key: 'serverCpuUsPerConnect', label: 'server CPU per connect + join', unit: 'µs' },
  { key: 'rssKiBPerConn', label: 'server RSS per connection', unit: 'KiB' },
  { key: 'connectsPerSec', label: 'connects + joins/s', unit: '' },
  { key: 'held', label: 'connections held', unit: '' },
  { key: 'failed', label: 'failed or dropped', unit: '' },
  { key: 'serverRssMiB', label: 'server RSS', unit: 'MiB' },
  { key: 'core0Busy', label: 'core 0 busy (server)', unit: '%' },
  { key: 'core1Busy', label: 'core 1 busy (clients)', unit: '%' }
]

export const METRICS: Record<Scenario, MetricInfo[]> = {
  // One sender acknowledged one message at a time: no messages-sent row, and the window's length.
  fanout: [
    ...ROOMS_METRICS.filter((metric) => metric.key !== 'sent'),
    { key: 'seconds', label: 'window', unit: 's' }
  ],
  rooms: ROOMS_METRICS,
  // The rooms figures, where deliveries count messages only (typing, read, edit and reaction frames are extra work).
  chat: ROOMS_METRICS.map((metric) => metric.key === 'cpuUsPerDelivery'
    ? { ...metric, label: 'server CPU per message delivery (typing, reads, edits, reactions included)' }
    : metric.key === 'deliveriesPerSec' ? { ...metric, label: 'message deliveries/s' } : metric),
  idle: CONNECTION_METRICS,
  connect: CONNECTION_METRICS,
  rest: [
    { key: 'getRps', label: 'GET history requests/s', unit: '' },
    { key: 'getP99Ms', label: 'GET latency p99', unit: 'ms' },
    { key: 'getCpuUsPerReq', label: 'GET server CPU per request', unit: 'µs' },
    { key: 'postRps', label: 'POST message requests/s', unit: '' },
    { key: 'postP99Ms', label: 'POST latency p99', unit: 'ms' },
    { key: 'postCpuUsPerReq', label: 'POST server CPU per request', unit: 'µs' },
    { key: 'getErrors', label: 'GET errors + non-2xx', unit: '' },
    { key: 'postErrors', label: 'POST errors + non-2xx', unit: '' },
    { key: 'serverRssMiB', label: 'server RSS', unit: 'MiB' },
    { key: 'core0Busy', label: 'core 0 busy (server)', unit: '%' },
    { key: 'core1Busy', label: 'core 1 busy (autocannon)', unit: '%' }
  ],
  webhooks: [
    ...ROOMS_METRICS,
    { key: 'webhookRequests', label: 'webhook requests at the receiver', unit: '' }
  ],
  // The chat load (its figures), with half of each room's members away and subscribed.
  push: [
    ...ROOMS_METRICS.map((metric) => metric.key === 'cpuUsPerDelivery'
      ? { ...metric, label: 'server CPU per message delivery (typing, reads, edits, reactions, pushes included)' }
      : metric.key === 'deliveriesPerSec' ? { ...metric, label: 'message deliveries/s' } : metric),
    { key: 'pushRequests', label: 'pushes at the push service', unit: '' },
    { key: 'pushesPerSec', label: 'pushes/s at the push service', unit: '' }
  ],
  'cross-node': [
    { key: 'cpuUsPerDelivery', label: 'nodes\' CPU per delivery', unit: 'µs' },
    { key: 'redisCpuUsPerDelivery', label: 'redis-server CPU per delivery', unit: 'µs' },
    { key: 'deliveriesPerSec', label: 'deliveries/s', unit: '' },
    { key: 'p50Ms', label: 'latency p50', unit: 'ms' },
    { key: 'p99Ms', label: 'latency p99', unit: 'ms' },
    { key: 'lost', label: 'lost deliveries', unit: '' },
    { key: 'sent', label: 'messages sent', unit: '' },
    { key: 'serverRssMiB', label: 'nodes\' RSS', unit: 'MiB' },
    { key: 'idleNodeCpuPct', label: 'idle node CPU while the other is busy', unit: '%' },
    { key: 'busyNodeCpuPct', label: 'busy node CPU meanwhile', unit: '%' },
    { key: 'idleVsBusyCpu', label: 'idle node CPU / busy node CPU', unit: '' },
    { key: 'core0Busy', label: 'core 0 busy (nodes, Redis)', unit: '%' },
    { key: 'core1Busy', label: 'core 1 busy (clients)', unit: '%' }
  ]
}

export type Summary = Record<string, Record<string, Spread & { ratio: number }>>

/** Per target and metric: median, min and max over the rounds, and the ratio of medians to the baseline. */
export function summarize (record: ScenarioRecord): Summary {
  const summary: Summary = {}
  const keys = new Set<string>(METRICS[record.scenario].map((metric) => metric.key))
  for (const run of record.runs) for (const key of Object.keys(run.metrics ?? {})) keys.add(key)
  for (const target of record.targets) {
    summary[target] = {}
    for (const key of keys) {
      const values = record.runs.filter((run) => run.target === target && run.metrics !== undefined).map((run) => run.metrics![key]!)
      summary[target][key] = { ...spread(values), ratio: NaN }
    }
  }
  const base = summary[record.baseline]
  for (const target of record.targets) {
    for (const key of keys) {
      const entry = summary[target]![key]!
      const reference = base?.[key]?.median
      entry.ratio = reference === undefined || reference === 0 ? NaN : entry.median / reference
    }
  }
  return summary
}

export function format (value: number, unit = ''): string {
  if (!Number.isFinite(value)) return '–'
  if (Number.isInteger(value)) return String(value)
  const abs = Math.abs(value)
  const digits = unit === '%' || abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3
  return value.toFixed(digits)
}

const ratioText = (ratio: number) => Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : '–'

/** The scenario's table: one row per metric, `median (min–max)` per target, then the ratios. */
export function table (record: ScenarioRecord, markdown: boolean): string {
  const summary = summarize(record)
  // No ratio columns to a baseline that did not run (a run of the PostgreSQL targets alone).
  const others = record.targets.includes(record.baseline) ? record.targets.filter((target) => target !== record.baseline) : []
  // The pairs apply once a PostgreSQL target ran, so the tables of runs without one stay as they were.
  const pairs = record.targets.some((target) => target.endsWith('-pg'))
    ? PAIRS.filter(([a, b]) => b !== record.baseline && record.targets.includes(a) && record.targets.includes(b))
    : []
  const header = ['metric', ...record.targets.map((target) => target === record.baseline ? `${target} (baseline)` : target),
    ...others.map((target) => `${target} / ${record.baseline}`), ...pairs.map(([a, b]) => `${a} / ${b}`)]
  const metrics = METRICS[record.scenario].filter((metric) =>
    !DATABASE_KEYS.has(metric.key) || record.targets.some((target) => (summary[target]?.[metric.key]?.n ?? 0) > 0 && Number.isFinite(summary[target]![metric.key]!.median)))
  const rows = metrics.map((metric) => {
    const label = metric.unit === '' ? metric.label : `${metric.label} (${metric.unit})`
    const cells = record.targets.map((target) => {
      const entry = summary[target]?.[metric.key]
      if (entry === undefined || entry.n === 0) return '–'
      const median = format(entry.median, metric.unit)
      return entry.n > 1 ? `${median} (${format(entry.min, metric.unit)}–${format(entry.max, metric.unit)})` : median
    })
    const ratios = others.map((target) => ratioText(summary[target]?.[metric.key]?.ratio ?? NaN))
    const paired = pairs.map(([a, b]) => {
      const reference = summary[b]?.[metric.key]?.median
      return ratioText(reference === undefined || reference === 0 ? NaN : (summary[a]?.[metric.key]?.median ?? NaN) / reference)
    })
    return [label, ...cells, ...ratios, ...paired]
  })
  if (markdown) {
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`
    return [line(header), line(header.map((_, index) => index === 0 ? '---' : '---:')), ...rows.map(line)].join('\n')
  }
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column]!.length)))
  const line = (cells: string[]) => cells.map((cell, column) => column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)).join('  ')
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n')
}

export interface TargetCheck {
  scenario: Scenario
  goal: string
  value: string
  /** null when it could not be evaluated (a target or a baseline is missing, or a smoke run). */
  met: boolean | null
}

/** The project's performance targets for the service, against the references. */
export function checkTargets (results: Results): TargetCheck[] {
  const checks: TargetCheck[] = []
  const evaluate = results.mode === 'full'
  const add = (scenario: Scenario, goal: string, value: number, show: string, test: (value: number) => boolean) => {
    checks.push({ scenario, goal, value: show, met: evaluate && Number.isFinite(value) ? test(value) : null })
  }
  const ratioOf = (summary: Summary, key: string) => summary.service?.[key]?.ratio ?? NaN
  for (const scenario of SCENARIOS) {
    const record = results.scenarios[scenario]
    if (record === undefined) continue
    if (scenario === 'cross-node') {
      const crossSummary = summarize(record)
      const twoNodes = crossSummary['redis-2']?.cpuUsPerDelivery?.median ?? NaN
      const oneNode = crossSummary.service?.cpuUsPerDelivery?.median ?? NaN
      add(scenario, 'two nodes on Redis: CPU per delivery ≤ 1.5× one node (SQLite)', twoNodes / oneNode, ratioText(twoNodes / oneNode), (v) => v <= 1.5)
      const runs = record.runs.filter((run) => run.target === 'redis-2')
      const worstOf = (key: string) => runs.length === 0 || runs.some((run) => run.metrics === undefined)
        ? NaN
        : Math.max(...runs.map((run) => run.metrics![key] ?? NaN))
      add(scenario, 'two nodes: 0 deliveries lost (every round)', worstOf('lost'), String(worstOf('lost')), (v) => v === 0)
      const share = worstOf('idleVsBusyCpu')
      add(scenario, 'idle node CPU ≤ 5 % of the busy node\'s (every round)', share, format(share * 100, '%') + ' %', (v) => v <= 0.05)
      continue
    }
    if (scenario === 'webhooks') {
      // The rooms load with a webhook URL that never answers, against the same load without webhooks.
      const summary = summarize(record)
      const p99 = (summary['hung-url']?.p99Ms?.median ?? NaN) / (summary['ok-url']?.p99Ms?.median ?? NaN)
      add(scenario, 'hung URL: latency p99 ≤ 1.1× a URL that answers', p99, ratioText(p99), (v) => v <= 1.1)
      const lost = Math.max(...record.runs.map((run) => run.metrics?.lost ?? NaN))
      add(scenario, '0 deliveries lost (every round)', lost, String(lost), (v) => v === 0)
      continue
    }
    if (scenario === 'push') {
      // The chat load with half the members away and subscribed, against the same load without Web Push.
      const summary = summarize(record)
      const ratio = (key: string) => summary.push?.[key]?.ratio ?? NaN
      add(scenario, 'push: server CPU per message delivery ≤ 1.3× no-push', ratio('cpuUsPerDelivery'), ratioText(ratio('cpuUsPerDelivery')), (v) => v <= 1.3)
      add(scenario, 'push: latency p99 ≤ 1.5× no-push', ratio('p99Ms'), ratioText(ratio('p99Ms')), (v) => v <= 1.5)
      const lost = Math.max(...record.runs.filter((run) => run.target !== 'push-every').map((run) => run.metrics?.lost ?? NaN))
      add(scenario, 'no-push and push: 0 deliveries lost (every round)', lost, String(lost), (v) => v === 0)
      continue
    }
    if (!record.targets.includes('service')) continue
    const summary = summarize(record)
    const serviceRuns = record.runs.filter((run) => run.target === 'service')
    const worst = (key: string) => serviceRuns.length === 0 || serviceRuns.some((run) => run.metrics === undefined)
      ? NaN
      : Math.max(...serviceRuns.map((run) => run.metrics![key] ?? NaN))
    const ratio = (key: string, goal: string, limit: number, atLeast = false) => {
      const value = ratioOf(summary, key)
      add(scenario, goal, value, ratioText(value), (v) => atLeast ? v >= limit : v <= limit)
    }
    switch (scenario) {
      case 'fanout':
        ratio('cpuUsPerDelivery', 'server CPU per delivery ≤ 1.1× bare', 1.1)
        ratio('p99Ms', 'latency p99 ≤ 1.2× bare', 1.2)
        break
      case 'rooms':
        ratio('cpuUsPerDelivery', 'server CPU per delivery ≤ 1.2× bare', 1.2)
        ratio('p99Ms', 'latency p99 ≤ 1.25× bare', 1.25)
        add(scenario, '0 deliveries lost (every round)', worst('lost'), String(worst('lost')), (v) => v === 0)
        break
      case 'chat':
        ratio('cpuUsPerDelivery', 'server CPU per delivery ≤ 1.3× bare', 1.3)
        add(scenario, '0 deliveries lost (every round)', worst('lost'), String(worst('lost')), (v) => v === 0)
        break
      case 'connect':
        ratio('serverCpuUsPerConnect', 'server CPU per connect + join ≤ 1.4× bare (2,000 connections)', 1.4)
        break
      case 'idle': {
        ratio('serverCpuUsPerConnect', 'server CPU per connect + join ≤ 1.2× bare (10,000 connections)', 1.2)
        ratio('rssKiBPerConn', 'RSS per connection ≤ 1.0× bare', 1.0)
        const kib = summary.service?.rssKiBPerConn?.median ?? NaN
        add(scenario, 'RSS per connection < 14 KiB', kib, `${format(kib)} KiB`, (v) => v < 14)
        ratio('connectsPerSec', 'connects + joins/s ≥ 0.8× bare', 0.8, true)
        const params = record.params as { connections?: number } | undefined
        const wanted = params?.connections ?? NaN
        const heldAll = serviceRuns.length > 0 && serviceRuns.every((run) =>
          run.metrics !== undefined && run.metrics.held === wanted && run.metrics.failed === 0)
        const outcomes = [...new Set(serviceRuns.map((run) => run.metrics === undefined ? 'error' : `${run.metrics.held} held, ${run.metrics.failed} failed`))]
        add(scenario, `${wanted} connections held, no error (every round)`, heldAll ? 1 : 0,
          outcomes.length === 1 ? `${outcomes[0]} (${serviceRuns.length} of ${serviceRuns.length} rounds)` : outcomes.join('; '),
          (v) => v === 1)
        break
      }
      case 'rest':
        ratio('getRps', 'GET history requests/s ≥ 0.8× bare Fastify', 0.8, true)
        ratio('postRps', 'POST message requests/s ≥ 0.8× bare Fastify', 0.8, true)
        break
    }
  }
  return checks
}

export function targetsText (checks: TargetCheck[], markdown: boolean): string {
  const verdict = (met: boolean | null) => met === null ? 'not evaluated' : met ? 'met' : 'NOT MET'
  if (markdown) {
    return ['| scenario | target | service | result |', '|---|---|---:|---|',
      ...checks.map((check) => `| ${check.scenario} | ${check.goal} | ${check.value} | ${check.met === false ? '**not met**' : verdict(check.met)} |`)
    ].join('\n')
  }
  return checks.map((check) => `  [${verdict(check.met).padEnd(13)}] ${check.scenario.padEnd(6)} ${check.goal}: ${check.value}`).join('\n')
}

// ---- chart ----------------------------------------------------------------------------

const COLORS: Record<string, string> = {
  service: '#2563eb', bare: '#6b7280', durable: '#0f766e', socketio: '#d97706', fastify: '#059669', 'redis-1': '#7c3aed', 'redis-2': '#db2777', 'bare-redis-2': '#9ca3af', 'service-pg': '#1e3a8a', 'durable-pg': '#134e4a'
}
const ORDER = ['service', 'service-pg', 'redis-1', 'redis-2', 'bare', 'durable', 'durable-pg', 'bare-redis-2', 'socketio', 'fastify']

interface Panel {
  title: string
  note: string
  groups: { label: string, scenario: Scenario, metric: string }[]
}

const PANELS: Panel[] = [
  {
    title: 'Server CPU per delivery (µs)',
    note: 'lower is better',
    groups: [
      { label: 'fanout', scenario: 'fanout', metric: 'cpuUsPerDelivery' },
      { label: 'rooms', scenario: 'rooms', metric: 'cpuUsPerDelivery' },
      { label: 'chat', scenario: 'chat', metric: 'cpuUsPerDelivery' },
      { label: 'cross-node', scenario: 'cross-node', metric: 'cpuUsPerDelivery' }
    ]
  },
  {
    title: 'Latency p99 (ms)',
    note: 'lower is better',
    groups: [
      { label: 'fanout', scenario: 'fanout', metric: 'p99Ms' },
      { label: 'rooms', scenario: 'rooms', metric: 'p99Ms' },
      { label: 'chat', scenario: 'chat', metric: 'p99Ms' },
      { label: 'cross-node', scenario: 'cross-node', metric: 'p99Ms' }
    ]
  },
  {
    title: 'RSS per idle connection (KiB)',
    note: 'lower is better',
    groups: [{ label: 'idle', scenario: 'idle', metric: 'rssKiBPerConn' }]
  },
  {
    title: 'Server CPU per connect + join (µs)',
    note: 'lower is better',
    groups: [
      { label: '2,000', scenario: 'connect', metric: 'serverCpuUsPerConnect' },
      { label: '10,000', scenario: 'idle', metric: 'serverCpuUsPerConnect' }
    ]
  },
  {
    title: 'REST requests/s',
    note: 'higher is better',
    groups: [{ label: 'GET history', scenario: 'rest', metric: 'getRps' }, { label: 'POST message', scenario: 'rest', metric: 'postRps' }]
  }
]

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Grouped bars (medians, with min–max whiskers) per scenario and target, as a standalone SVG. */
export function chart (results: Results): string {
  const panelWidth = 250
  const panelHeight = 300
  const top = 70
  const width = panelWidth * PANELS.length + 20
  const height = top + panelHeight + 70
  const parts: string[] = []
  const text = (x: number, y: number, content: string, attributes = '') =>
    parts.push(`<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attributes}>${escape(content)}</text>`)
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`)
  text(10, 22, 'fastify-chat benchmark: the service against bare references (medians of rounds; whiskers: min–max)', 'font-size="14" font-weight="bold"')
  const m = results.machine
  text(10, 40, `${m.cpuModel}, ${m.cores} cores, Node ${m.node}; ${results.mode} run at ${results.revision}, ${results.updatedAt.slice(0, 16).replace('T', ' ')} UTC; server on core 0, load on core 1`, 'font-size="11" fill="#444"')

  const seen = new Set<string>()
  PANELS.forEach((panel, index) => {
    const x0 = 10 + index * panelWidth
    const plotLeft = x0 + 45
    const plotRight = x0 + panelWidth - 15
    const plotTop = top + 30
    const plotBottom = top + panelHeight - 30
    text(x0 + 5, top + 8, panel.title, 'font-size="12" font-weight="bold"')
    text(x0 + 5, top + 22, panel.note, 'font-size="10" fill="#666"')

    const groups = panel.groups.map((group) => {
      const record = results.scenarios[group.scenario]
      if (record === undefined) return { ...group, bars: [] }
      const summary = summarize(record)
      const bars = ORDER.filter((target) => record.targets.includes(target)).map((target) => {
        const entry = summary[target]?.[group.metric]
        return { target, median: entry?.median ?? NaN, min: entry?.min ?? NaN, max: entry?.max ?? NaN }
      }).filter((bar) => Number.isFinite(bar.median))
      return { ...group, bars }
    })
    const peak = Math.max(0, ...groups.flatMap((group) => group.bars.map((bar) => Math.max(bar.median, bar.max))))
    const scaleMax = peak > 0 ? niceStep(peak * 1.1 / 4) * 4 : 1
    const y = (value: number) => plotBottom - (value / scaleMax) * (plotBottom - plotTop)

    parts.push(`<line x1="${plotLeft}" y1="${plotBottom}" x2="${plotRight}" y2="${plotBottom}" stroke="#333"/>`)
    parts.push(`<line x1="${plotLeft}" y1="${plotTop}" x2="${plotLeft}" y2="${plotBottom}" stroke="#333"/>`)
    for (let tick = 0; tick <= 4; tick++) {
      const value = scaleMax * tick / 4
      const ty = y(value)
      if (tick > 0) parts.push(`<line x1="${plotLeft}" y1="${ty.toFixed(1)}" x2="${plotRight}" y2="${ty.toFixed(1)}" stroke="#e5e7eb"/>`)
      text(plotLeft - 4, ty + 3, shortNumber(value), 'font-size="9" text-anchor="end" fill="#444"')
    }

    const groupWidth = (plotRight - plotLeft) / groups.length
    groups.forEach((group, g) => {
      const gx = plotLeft + g * groupWidth
      text(gx + groupWidth / 2, plotBottom + 14, group.label, 'font-size="11" text-anchor="middle"')
      if (group.bars.length === 0) {
        text(gx + groupWidth / 2, (plotTop + plotBottom) / 2, 'not run', 'font-size="10" text-anchor="middle" fill="#999"')
        return
      }
      const barWidth = Math.min(34, (groupWidth - 16) / group.bars.length)
      const start = gx + (groupWidth - barWidth * group.bars.length) / 2
      group.bars.forEach((bar, b) => {
        seen.add(bar.target)
        const bx = start + b * barWidth
        const by = y(bar.median)
        const color = COLORS[bar.target] ?? '#999'
        parts.push(`<rect x="${(bx + 1).toFixed(1)}" y="${by.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(plotBottom - by).toFixed(1)}" fill="${color}"><title>${escape(`${group.label} ${bar.target}: ${format(bar.median)} (${format(bar.min)}–${format(bar.max)})`)}</title></rect>`)
        if (Number.isFinite(bar.min) && Number.isFinite(bar.max) && bar.max > bar.min) {
          const cx = bx + barWidth / 2
          parts.push(`<line x1="${cx.toFixed(1)}" y1="${y(bar.min).toFixed(1)}" x2="${cx.toFixed(1)}" y2="${y(bar.max).toFixed(1)}" stroke="#111" stroke-width="1"/>`)
          for (const v of [bar.min, bar.max]) {
            parts.push(`<line x1="${(cx - 4).toFixed(1)}" y1="${y(v).toFixed(1)}" x2="${(cx + 4).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#111" stroke-width="1"/>`)
          }
        }
        text(bx + barWidth / 2, Math.min(y(Math.max(bar.median, bar.max)) - 4, plotBottom - 4), shortNumber(bar.median), 'font-size="9" text-anchor="middle" fill="#111"')
      })
    })
  })

  let lx = 10
  const ly = top + panelHeight + 20
  for (const target of ORDER.filter((name) => seen.has(name))) {
    parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[target]}"/>`)
    const label = {
      service: 'service (node dist/src/server.js)',
      bare: 'bare ws hub',
      durable: 'bare ws hub + SQLite',
      'service-pg': 'service on PostgreSQL',
      'durable-pg': 'bare ws hub + PostgreSQL',
      socketio: 'Socket.IO 4.8',
      fastify: 'bare Fastify + SQLite',
      'redis-1': 'service, 1 node on Redis',
      'redis-2': 'service, 2 nodes on one Redis',
      'bare-redis-2': 'bare ws hub, 2 nodes on one Redis'
    }[target] ?? target
    text(lx + 16, ly, label, 'font-size="11"')
    lx += 30 + label.length * 6.2
  }
  text(10, ly + 22, 'Numbers from a shared 2-core machine; see BENCHMARKS.md for rounds, spreads and the exact commands.', 'font-size="10" fill="#666"')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">\n${parts.join('\n')}\n</svg>\n`
}

/** The smallest of 1, 2, 2.5, 5 × a power of ten that is at least `value`. */
function niceStep (value: number): number {
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value) return step * power
  }
  return 10 * power
}

function shortNumber (value: number): string {
  if (!Number.isFinite(value)) return '–'
  if (Number.isInteger(value) && value < 10_000) return String(value)
  if (value >= 10_000) return `${(value / 1000).toFixed(0)}k`
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k`
  if (value >= 100) return value.toFixed(0)
  if (value >= 10) return value.toFixed(1)
  if (value >= 1) return value.toFixed(2)
  return value === 0 ? '0' : value.toFixed(3)
}
