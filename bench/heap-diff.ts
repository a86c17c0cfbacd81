import { setTimeout as sleep } from 'node:timers/promises'
import { resolve } from 'node:path'
import { WebSocket } from 'ws'
import { InspectorSession } from './lib/inspector.ts'
import { type ServerKind, compileBench, startServer } from './lib/servers.ts'

/**
 * What one idle connection keeps on the heap: heap snapshots of a server (after a full GC)
 * before and after opening N joined connections, diffed by object kind.
 * Usage: node --import tsx bench/heap-diff.ts [service|bare] [connections] [service entry]
 */

interface Snapshot {
  snapshot: { meta: { node_fields: string[], node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

type Totals = Map<string, { bytes: number, count: number }>

async function heapByKind (pid: number, inspectPort: number): Promise<Totals> {
  const session = await InspectorSession.open(pid, inspectPort)
  const chunks: string[] = []
  session.on('HeapProfiler.addHeapSnapshotChunk', (params) => chunks.push((params as { chunk: string }).chunk))
  try {
    await session.send('HeapProfiler.collectGarbage')
    await session.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 300_000)
  } finally {
    session.close()
  }
  const snapshot = JSON.parse(chunks.join('')) as Snapshot
  const fields = snapshot.snapshot.meta.node_fields
  const types = snapshot.snapshot.meta.node_types[0]
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field)) as [number, number, number]
  const totals: Totals = new Map()
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt]!]!
    const name = snapshot.strings[snapshot.nodes[i + nameAt]!]!
    const kind = type.endsWith('string') ? '(strings)' : type === 'code' ? '(code)' : `${type}: ${name}`.slice(0, 80)
    const entry = totals.get(kind) ?? { bytes: 0, count: 0 }
    entry.bytes += snapshot.nodes[i + sizeAt]!
    entry.count++
    totals.set(kind, entry)
  }
  return totals
}

function open (url: string, user: string, room: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url}?user=${user}`, { perMessageDeflate: false })
  return new Promise((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { type: string }
      if (frame.type === 'welcome') ws.send(JSON.stringify({ type: 'join', room, ref: 'j' }))
      else if (frame.type === 'joined') resolve(ws)
    })
    ws.once('error', reject)
  })
}

const kind = (process.argv[2] ?? 'service') as ServerKind
if (kind !== 'service' && kind !== 'bare') throw new Error('heap-diff speaks the chat protocol: service or bare')
const connections = Number(process.argv[3] ?? 2000)
const compiled = compileBench()
const server = await startServer(kind, compiled.servers, {
  serviceEntry: process.argv[4] === undefined ? undefined : resolve(process.argv[4])
})
const clients: WebSocket[] = []
try {
  // A few connections first, so code loaded on first use is not counted per connection.
  for (let i = 0; i < 20; i++) clients.push(await open(server.clientUrl, `warm${i}`, `room${i % 100}`))
  await sleep(1000)
  const before = await heapByKind(server.pid, server.inspectPort)
  for (let i = 0; i < connections; i += 50) {
    const batch = Array.from({ length: Math.min(50, connections - i) }, (_, k) => open(server.clientUrl, `u${i + k}`, `room${(i + k) % 100}`))
    clients.push(...await Promise.all(batch))
  }
  await sleep(2000)
  const after = await heapByKind(server.pid, server.inspectPort)
  const rows = [...after].map(([name, entry]) => {
    const base = before.get(name) ?? { bytes: 0, count: 0 }
    return { name, bytes: (entry.bytes - base.bytes) / connections, count: (entry.count - base.count) / connections }
  }).sort((a, b) => b.bytes - a.bytes)
  const total = rows.reduce((sum, row) => sum + row.bytes, 0)
  process.stdout.write(`${kind}: ${connections} connections, ${(total / 1024).toFixed(2)} KiB of heap per connection\n`)
  for (const row of rows.slice(0, 40)) {
    process.stdout.write(`${row.bytes.toFixed(0).padStart(7)} B ${row.count.toFixed(2).padStart(7)} per connection  ${row.name}\n`)
  }
} finally {
  for (const ws of clients) ws.terminate()
  await server.stop()
}
