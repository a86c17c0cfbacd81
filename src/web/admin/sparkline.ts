const SVG = 'http://www.w3.org/2000/svg'

/**
 * The `points` of a polyline drawing `values` left to right in a width × height box, from 0 at
 * the bottom to the largest value (at least `floor`, so a quiet line stays low) at the top.
 * Values that are not numbers are left out.
 */
export function sparklinePoints (values: number[], width: number, height: number, floor = 1): string {
  const shown = values.filter((value) => Number.isFinite(value))
  if (shown.length === 0) return ''
  const top = Math.max(floor, ...shown)
  const step = shown.length === 1 ? 0 : width / (shown.length - 1)
  // One pixel of margin, so the stroke is not cut at the top and the bottom.
  const y = (value: number) => (height - 1 - (value / top) * (height - 2)).toFixed(1)
  return shown.map((value, index) => `${(index * step).toFixed(1)},${y(value)}`).join(' ')
}

/** Draws `values` into an inline `<svg>` with a viewBox, and says what it shows in its label. */
export function drawSparkline (svg: SVGSVGElement, values: number[], describe: (last: number, peak: number) => string): void {
  const { width, height } = svg.viewBox.baseVal
  let line = svg.querySelector('polyline')
  if (line === null) {
    line = document.createElementNS(SVG, 'polyline')
    svg.append(line)
  }
  line.setAttribute('points', sparklinePoints(values, width, height))
  const shown = values.filter((value) => Number.isFinite(value))
  svg.setAttribute('aria-label', shown.length === 0 ? 'No samples yet' : describe(shown.at(-1)!, Math.max(...shown)))
}
