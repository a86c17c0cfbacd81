import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Summarises a V8 .cpuprofile: self time by function and by area (our code, each package,
 * Node internals, GC), and the inclusive time of our own functions.
 * Usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]
 */

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

const ROOT = fileURLToPath(new URL('..', import.meta.url))

function location (frame: CallFrame): string {
  let url = frame.url
  if (url === '') return ''
  if (url.startsWith('file://')) url = relative(ROOT, fileURLToPath(url))
  return `${url}:${frame.lineNumber + 1}`
}

/** Where a function lives: our code by folder, a package, Node itself, or V8's pseudo-frames. */
function area (frame: CallFrame): string {
  const { url, functionName } = frame
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  if (url.startsWith('node:')) return 'node internals'
  const path = url.startsWith('file://') ? relative(ROOT, fileURLToPath(url)) : url
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
  if (pkg !== null) return pkg[1]!
  const folder = /^dist\/(src\/[^/]+|plugins|routes|src)/.exec(path)
  return folder === null ? path : `ours: ${folder[1]}`
}

const key = (frame: CallFrame) => `${frame.functionName || '(anonymous)'}  ${location(frame)}`

export interface ProfileSummary {
  totalMs: number
  idleMs: number
  self: { name: string, area: string, ms: number }[]
  areas: { area: string, ms: number }[]
  ours: { name: string, ms: number }[]
}

export function summarizeProfile (file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

  const self = new Map<string, { area: string, ms: number }>()
  const areas = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let totalMs = 0
  let idleMs = 0
  for (let i = 0; i < profile.samples.length; i++) {
    // A sample's time is the gap to the next one.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000
    const node = byId.get(profile.samples[i]!)
    if (node === undefined) continue
    totalMs += ms
    if (node.callFrame.functionName === '(idle)') {
      idleMs += ms
      continue
    }
    const name = key(node.callFrame)
    const where = area(node.callFrame)
    const entry = self.get(name) ?? { area: where, ms: 0 }
    entry.ms += ms
    self.set(name, entry)
    areas.set(where, (areas.get(where) ?? 0) + ms)
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame
      if (!area(frame).startsWith('ours')) continue
      const ourName = key(frame)
      if (seen.has(ourName)) continue
      seen.add(ourName)
      inclusive.set(ourName, (inclusive.get(ourName) ?? 0) + ms)
    }
  }
  return {
    totalMs,
    idleMs,
    self: [...self].map(([name, entry]) => ({ name, ...entry })).sort((a, b) => b.ms - a.ms),
    areas: [...areas].map(([name, ms]) => ({ area: name, ms })).sort((a, b) => b.ms - a.ms),
    ours: [...inclusive].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms)
  }
}

export function profileText (summary: ProfileSummary, top = 25): string {
  const busy = summary.totalMs - summary.idleMs
  const pct = (ms: number) => `${(100 * ms / busy).toFixed(1).padStart(5)}%`
  const ms = (value: number) => value.toFixed(0).padStart(7)
  return [
    `sampled ${summary.totalMs.toFixed(0)} ms, of which busy ${busy.toFixed(0)} ms (idle ${summary.idleMs.toFixed(0)} ms); shares are of busy time`,
    '',
    'self time by area:',
    ...summary.areas.slice(0, 15).map((entry) => `${ms(entry.ms)} ms ${pct(entry.ms)}  ${entry.area}`),
    '',
    `top ${top} functions by self time:`,
    ...summary.self.slice(0, top).map((entry) => `${ms(entry.ms)} ms ${pct(entry.ms)}  ${entry.name}  [${entry.area}]`),
    '',
    'our functions by inclusive time (self + callees):',
    ...summary.ours.slice(0, 15).map((entry) => `${ms(entry.ms)} ms ${pct(entry.ms)}  ${entry.name}`)
  ].join('\n')
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2]
  if (file === undefined) {
    process.stderr.write('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]\n')
    process.exit(2)
  }
  process.stdout.write(profileText(summarizeProfile(file), Number(process.argv[3] ?? 25)) + '\n')
}
