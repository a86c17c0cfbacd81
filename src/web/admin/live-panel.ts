import { type AdminApi, describeError } from './api.ts'
import { byId } from './dom.ts'
import { LiveSeries, readScrape } from './live-series.ts'
import { drawSparkline } from './sparkline.ts'

/** How often /metrics is read; the sparklines span `POINTS` of these. */
export const METRICS_EVERY_MS = 3000
const POINTS = 60

const count = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 })
const rate = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 })
const perSecond = (value: number) => Number.isFinite(value) ? `${rate.format(value)}/s` : '–'
const span = `${Math.round(POINTS * METRICS_EVERY_MS / 60_000)} minutes`

/**
 * Connections and message rates from the node's own /metrics, drawn as numbers and
 * sparklines. Not a live region: a figure changing every few seconds would drown a screen
 * reader; the sparklines' labels say the latest value and the peak when read.
 */
export function livePanel (api: AdminApi) {
  const ui = {
    connections: byId('live-connections'),
    messages: byId('live-messages'),
    deliveries: byId('live-deliveries'),
    sparkConnections: byId('spark-connections') as unknown as SVGSVGElement,
    sparkMessages: byId('spark-messages') as unknown as SVGSVGElement,
    sparkDeliveries: byId('spark-deliveries') as unknown as SVGSVGElement,
    note: byId('live-note')
  }
  const series = new LiveSeries(POINTS)
  let timer: ReturnType<typeof setInterval> | undefined

  function render (): void {
    const points = series.points
    const last = points.at(-1)
    ui.connections.textContent = last === undefined ? '–' : count.format(last.connections)
    ui.messages.textContent = last === undefined ? '–' : perSecond(last.messagesPerSecond)
    ui.deliveries.textContent = last === undefined ? '–' : perSecond(last.deliveriesPerSecond)
    drawSparkline(ui.sparkConnections, points.map((point) => point.connections),
      (now, peak) => `Connections over the last ${span}: ${count.format(now)} now, at most ${count.format(peak)}`)
    drawSparkline(ui.sparkMessages, points.map((point) => point.messagesPerSecond),
      (now, peak) => `Messages stored over the last ${span}: ${perSecond(now)} now, at most ${perSecond(peak)}`)
    drawSparkline(ui.sparkDeliveries, points.map((point) => point.deliveriesPerSecond),
      (now, peak) => `Deliveries over the last ${span}: ${perSecond(now)} now, at most ${perSecond(peak)}`)
  }

  async function poll (): Promise<void> {
    // A hidden tab reads nothing; it starts its rates afresh when shown again.
    if (document.hidden) {
      series.clear()
      return
    }
    try {
      series.add(readScrape(await api.metrics(), performance.now()))
      ui.note.textContent = `Read from /metrics every ${METRICS_EVERY_MS / 1000} seconds; rates are per second since the previous read.`
      render()
    } catch (err) {
      ui.note.textContent = `Cannot read /metrics: ${describeError(err)}`
    }
  }

  return {
    start (): void {
      if (timer !== undefined) return
      void poll()
      timer = setInterval(() => { void poll() }, METRICS_EVERY_MS)
    },
    stop (): void {
      clearInterval(timer)
      timer = undefined
      series.clear()
      render()
    }
  }
}
