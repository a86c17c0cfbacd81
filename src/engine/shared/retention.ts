const DAY_MS = 86_400_000
/** Messages looked at per room and look: a backlog is worked off steadily. */
export const RETENTION_CHUNK = 1000
/** Looks per room and pass. */
const CHUNKS_PER_TICK = 20

/** What a room's oldest RETENTION_CHUNK messages say: the last one older than the cutoff (null: none), and whether one is not. */
export interface OldestChunk { seq: number | null, young: boolean }

/** What the scheduler needs of an engine: its rooms with a period, a look at a room's oldest messages, and the removal. */
export interface RetentionStorage {
  /** Rooms with a period of their own (`days`), and, with a default period, every room (`days` null). */
  rooms (): Promise<{ room: string, days: number | null }[]> | { room: string, days: number | null }[]
  oldest (room: string, cutoff: string): Promise<OldestChunk | undefined> | OldestChunk | undefined
  /** Removes the room's messages up to `seq`, as a trim does (features' data with them). */
  expire (room: string, seq: number): Promise<void> | void
  /** False once storage is closed. */
  open (): boolean
}

/**
 * Retention on a database engine: a timer removes each room's messages older than its period
 * (its own `retentionDays`, or CHAT_RETENTION_DAYS). A message's time grows with its seq, so a
 * room's expired messages are its oldest: each pass reads a room's oldest messages up to the
 * first one still young, by the primary key, with no index on time (which would cost every
 * message a write). It runs at least every 2 s, and every 0.5 % of the shortest period at most,
 * so a message is removed within 5 s or 1 % of its period, whichever is longer. Every node of a
 * deployment may run it: removing what another node removed already removes nothing.
 */
export function scheduleRetention (storage: RetentionStorage, defaultDays: number | undefined): { changed: () => void, stop: () => void } {
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  const running = () => !stopped && storage.open()

  const pass = async (): Promise<number> => {
    const now = Date.now()
    let shortest = Infinity
    for (const { room, days: own } of await storage.rooms()) {
      const days = own ?? defaultDays
      if (days === undefined) continue
      shortest = Math.min(shortest, days * DAY_MS)
      const cutoff = new Date(now - days * DAY_MS).toISOString()
      for (let chunk = 0; chunk < CHUNKS_PER_TICK && running(); chunk++) {
        const found = await storage.oldest(room, cutoff)
        if (found?.seq === null || found?.seq === undefined) break
        await storage.expire(room, found.seq)
        // Some of the chunk is young: the rest of the room is too.
        if (found.young) break
      }
    }
    return shortest
  }
  const tick = () => {
    timer = undefined
    if (!running()) return
    pass().then((shortest) => {
      // No period anywhere: nothing to do until one is set (changed()).
      if (running() && shortest !== Infinity) timer = setTimeout(tick, Math.min(3_600_000, Math.max(2000, shortest * 0.005))).unref()
    }, () => {
      // Storage is away: try again shortly.
      if (running()) timer = setTimeout(tick, 2000).unref()
    })
  }
  timer = setTimeout(tick, 0).unref()
  return {
    /** A room's period was set or changed: the next pass comes at once, and its pace follows. */
    changed () {
      if (stopped) return
      clearTimeout(timer)
      timer = setTimeout(tick, 0).unref()
    },
    stop () {
      stopped = true
      clearTimeout(timer)
    }
  }
}
