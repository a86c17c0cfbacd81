/**
 * The wait before reconnect attempt `attempt` (0 for the first): exponential from `minMs`,
 * capped at `maxMs`, times a random factor between 0.5 and 1 ("equal jitter"), so that the
 * clients of a restarted server do not all come back in the same instant.
 */
export function reconnectDelay (attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30))
  return Math.round(ceiling * (0.5 + random() / 2))
}
