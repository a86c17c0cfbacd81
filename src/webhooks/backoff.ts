/** The first retry waits at most this long (the contract: no more than 1 s). */
export const FIRST_RETRY_MS = 1000
/** No retry waits longer (the contract: up to 5 minutes). */
export const LONGEST_RETRY_MS = 5 * 60 * 1000

/**
 * How long to wait after the `failures`-th failed attempt: 1 s, 2 s, 4 s … up to 5 minutes, each
 * drawn between half and all of that ("equal jitter"), so retries of many rooms spread out
 * instead of arriving together when a receiver comes back.
 */
export function retryDelay (failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(Math.max(0, failures - 1), 30))
  return Math.round(ceiling * (0.5 + random() / 2))
}
