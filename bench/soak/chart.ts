/**
 * The soak's chart: panels of lines over the run's minutes, one line per series, with the
 * faults drawn as vertical marks. Plain SVG written by hand, as bench/lib/report.ts does for the
 * bench's bars: a charting library would bring a browser or a canvas for a few polylines.
 */

export interface Series {
  name: string
  /** [minute, value] points. */
  points: [number, number][]
}

export interface Panel {
  title: string
  unit: string
  series: Series[]
}

const WIDTH = 900
const PANEL_HEIGHT = 170
const LEFT = 70
const RIGHT = 160
const TOP = 70
const GAP = 40
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b']

const escape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')

/** A round upper bound for the axis: 1, 2 or 5 × a power of ten. */
function niceMax (value: number): number {
  if (value <= 0) return 1
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power
  return 10 * power
}

export function soakChart (title: string, panels: Panel[], faults: { minute: number, label: string }[]): string {
  const height = TOP + panels.length * (PANEL_HEIGHT + GAP) + 10
  const plotWidth = WIDTH - LEFT - RIGHT
  const lastMinute = Math.max(1, ...panels.flatMap((panel) => panel.series.flatMap((series) => series.points.map(([minute]) => minute))))
  const x = (minute: number) => LEFT + (minute / lastMinute) * plotWidth
  const parts: string[] = [
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${LEFT}" y="20" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `<text x="${LEFT}" y="38" font-size="12">${faults.length === 0 ? 'no fault injected' : `dashed: ${escape(faults[0]!.label)} (${faults.length} times)`}</text>`
  ]
  panels.forEach((panel, index) => {
    const top = TOP + index * (PANEL_HEIGHT + GAP)
    const bottom = top + PANEL_HEIGHT
    const max = niceMax(Math.max(0, ...panel.series.flatMap((series) => series.points.map(([, value]) => value))))
    const y = (value: number) => bottom - (value / max) * PANEL_HEIGHT
    parts.push(`<text x="${LEFT}" y="${top - 8}" font-size="13" font-weight="bold">${escape(panel.title)} (${escape(panel.unit)})</text>`)
    parts.push(`<rect x="${LEFT}" y="${top}" width="${plotWidth}" height="${PANEL_HEIGHT}" fill="none" stroke="#999"/>`)
    for (const fraction of [0, 0.5, 1]) {
      const value = max * fraction
      parts.push(`<text x="${LEFT - 6}" y="${y(value) + 4}" font-size="11" text-anchor="end">${Number(value.toPrecision(3))}</text>`)
      if (fraction > 0 && fraction < 1) parts.push(`<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${y(value)}" y2="${y(value)}" stroke="#eee"/>`)
    }
    for (const fault of faults) {
      parts.push(`<line x1="${x(fault.minute)}" x2="${x(fault.minute)}" y1="${top}" y2="${bottom}" stroke="#f0a000" stroke-dasharray="3,3"/>`)
    }
    panel.series.forEach((series, i) => {
      const color = COLORS[i % COLORS.length]!
      const points = series.points.map(([minute, value]) => `${x(minute).toFixed(1)},${y(value).toFixed(1)}`).join(' ')
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points}"/>`)
      parts.push(`<text x="${LEFT + plotWidth + 10}" y="${top + 16 + i * 16}" font-size="12" fill="${color}">${escape(series.name)}</text>`)
    })
    const step = niceMax(lastMinute / 6)
    for (let tick = 0; tick <= lastMinute; tick += step) {
      parts.push(`<text x="${x(tick)}" y="${bottom + 14}" font-size="11" text-anchor="middle">${Number(tick.toPrecision(3))}</text>`)
    }
    parts.push(`<text x="${LEFT + plotWidth + 10}" y="${bottom + 14}" font-size="11">minutes</text>`)
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">\n${parts.join('\n')}\n</svg>\n`
}
