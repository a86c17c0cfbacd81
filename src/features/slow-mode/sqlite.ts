import type { SlowModeStore } from './store.ts'

/** Entries kept before the expired ones are swept: a sweep then costs one pass over them. */
const SWEEP_ABOVE = 10_000

/**
 * Slow mode's last sends on SQLite, in memory: the engine serves one process, the times matter
 * for an interval at most (a restart forgets them, as it forgets typing), and a send in a slow
 * room then costs no write.
 */
export function sqliteSlowMode (): SlowModeStore {
  /** "room\nuser" → when the user may send again there (Unix ms). */
  const nextAllowed = new Map<string, number>()
  const sweep = (now: number) => {
    for (const [key, until] of nextAllowed) if (until <= now) nextAllowed.delete(key)
  }
  return {
    async claim (room, user, intervalMs) {
      if (intervalMs <= 0) return 0
      const key = `${room}\n${user}`
      const now = Date.now()
      const until = nextAllowed.get(key)
      if (until !== undefined && until > now) return until - now
      if (nextAllowed.size >= SWEEP_ABOVE) sweep(now)
      nextAllowed.set(key, now + intervalMs)
      return 0
    }
  }
}
