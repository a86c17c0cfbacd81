/** What the soak reads of one node's /metrics (prom-client's default metrics and the service's own). */
export interface NodeSample {
  rssBytes: number
  heapUsedBytes: number
  handles: number
  /** Event-loop delay p99 and max since the previous scrape (prom-client resets its histogram on each). */
  eventLoopP99Seconds: number
  eventLoopMaxSeconds: number
  cpuSeconds: number
  connections: number
  openFds: number
  /** Redis engine: seqs lost to a lagging promotion, and gap repairs. */
  lostSeqs: number
  gapRepairs: number
}

/** The sum of every sample of `name` (all label sets) in a Prometheus text exposition. */
function valueOf (text: string, name: string): number {
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue
    total += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return total
}

export async function scrape (url: string): Promise<NodeSample> {
  const reply = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })
  const text = await reply.text()
  return {
    rssBytes: valueOf(text, 'process_resident_memory_bytes'),
    heapUsedBytes: valueOf(text, 'nodejs_heap_size_used_bytes'),
    handles: valueOf(text, 'nodejs_active_handles'),
    eventLoopP99Seconds: valueOf(text, 'nodejs_eventloop_lag_p99_seconds'),
    eventLoopMaxSeconds: valueOf(text, 'nodejs_eventloop_lag_max_seconds'),
    cpuSeconds: valueOf(text, 'process_cpu_seconds_total'),
    connections: valueOf(text, 'chat_connections'),
    openFds: valueOf(text, 'process_open_fds'),
    lostSeqs: valueOf(text, 'chat_redis_lost_seqs_total'),
    gapRepairs: valueOf(text, 'chat_redis_gap_repairs_total')
  }
}
