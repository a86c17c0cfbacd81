/** Window over which dropped frames are counted to tell a flood from a burst. */
const FLOOD_WINDOW_MS = 10_000

/**
 * Inbound frame budget of one connection: `rate` tokens a second, up to `capacity`,
 * starting full. Hand-written because it is a few lines on the hot path and must not
 * allocate; @fastify/rate-limit covers HTTP requests only.
 *
 * It also counts the frames it refused: a client that has more than ten seconds' worth
 * of its rate (at least 100 frames) refused within ten seconds is flooding.
 */
export class TokenBucket {
  private tokens: number
  private updatedAt: number
  private refused = 0
  private windowStart = 0
  private readonly floodLimit: number

  constructor (private readonly rate: number, private readonly capacity: number, now = performance.now()) {
    this.tokens = capacity
    this.updatedAt = now
    this.floodLimit = Math.max(100, rate * 10)
  }

  take (now = performance.now()): boolean {
    const elapsed = now - this.updatedAt
    if (elapsed > 0) {
      this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.rate) / 1000)
      this.updatedAt = now
    }
    if (this.tokens >= 1) {
      this.tokens -= 1
      return true
    }
    if (now - this.windowStart > FLOOD_WINDOW_MS) {
      this.windowStart = now
      this.refused = 0
    }
    this.refused++
    return false
  }

  /** Frames refused in the current ten-second window (1 at the first refusal of a window). */
  get refusedInWindow (): number {
    return this.refused
  }

  /** True once the refused frames of the current window pass the flood limit. */
  flooding (): boolean {
    return this.refused > this.floodLimit
  }
}
