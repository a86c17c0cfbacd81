import parsePrometheusTextFormat from 'parse-prometheus-text-format'

/** The figures the page follows, read from one scrape of /metrics. */
export interface Scrape {
  /** When it was read, in ms (performance.now() or Date.now(): only differences count). */
  time: number
  connections: number
  messagesStored: number
  deliveries: number
}

/** One point of the live view: the connections then, and the rates since the previous scrape. */
export interface LivePoint {
  time: number
  connections: number
  messagesPerSecond: number
  deliveriesPerSecond: number
}

/** The sum of a family's samples (over every label set); NaN when the scrape lacks it. */
function total (families: Map<string, { metrics: { value?: string }[] }>, name: string): number {
  const family = families.get(name)
  if (family === undefined) return Number.NaN
  return family.metrics.reduce((sum, sample) => sum + Number(sample.value ?? Number.NaN), 0)
}

export function readScrape (text: string, time: number): Scrape {
  const families = new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family]))
  return {
    time,
    connections: total(families, 'chat_connections'),
    messagesStored: total(families, 'chat_messages_stored_total'),
    deliveries: total(families, 'chat_deliveries_total')
  }
}

/**
 * A counter's increase per second between two scrapes. A counter that went down was reset
 * (the process restarted): as Prometheus' rate() does, its whole new value is the increase.
 */
export function ratePerSecond (before: number, after: number, seconds: number): number {
  if (!(seconds > 0)) return Number.NaN
  const increase = after >= before ? after - before : after
  return increase / seconds
}

/** The last `capacity` points of the live view, one per scrape (the first has no rates: a rate needs two). */
export class LiveSeries {
  readonly points: LivePoint[] = []
  private previous: Scrape | undefined

  constructor (readonly capacity = 60) {}

  add (scrape: Scrape): LivePoint {
    const previous = this.previous
    this.previous = scrape
    const seconds = previous === undefined ? 0 : (scrape.time - previous.time) / 1000
    const point = {
      time: scrape.time,
      connections: scrape.connections,
      messagesPerSecond: ratePerSecond(previous?.messagesStored ?? 0, scrape.messagesStored, seconds),
      deliveriesPerSecond: ratePerSecond(previous?.deliveries ?? 0, scrape.deliveries, seconds)
    }
    this.points.push(point)
    if (this.points.length > this.capacity) this.points.splice(0, this.points.length - this.capacity)
    return point
  }

  /** Forgets everything: the next scrape starts afresh (after a pause, rates over the gap mean little). */
  clear (): void {
    this.points.length = 0
    this.previous = undefined
  }
}
