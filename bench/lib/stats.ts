/** Merges latency samples and sorts them ascending. */
export function sortedLatencies (parts: Float64Array[]): Float64Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0)
  const all = new Float64Array(total)
  let offset = 0
  for (const part of parts) {
    all.set(part, offset)
    offset += part.length
  }
  return all.sort()
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile (sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]!
}

export interface Spread { median: number, min: number, max: number, n: number }

/** Median, minimum and maximum of the finite values. */
export function spread (values: number[]): Spread {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (finite.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 }
  const middle = finite.length >> 1
  const median = finite.length % 2 === 1 ? finite[middle]! : (finite[middle - 1]! + finite[middle]!) / 2
  return { median, min: finite[0]!, max: finite.at(-1)!, n: finite.length }
}
