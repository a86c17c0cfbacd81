import type { Appended, AppendOptions } from '../types.ts'

/** A message waiting for its batch, with the caller's promise to settle. */
export interface PendingAppend {
  room: string
  user: string
  text: string
  clientId: string | undefined
  /** The features' fields of the message. */
  fields: Record<string, unknown> | undefined
  resolve: (appended: Appended) => void
  reject: (error: Error) => void
}

/**
 * Groups the appends made in one turn of the event loop and hands them to `write` together
 * on the next turn (setImmediate), so a burst costs one transaction or one pipeline instead
 * of one per message. Shared by every store. `hold` keeps appends queued until `release`
 * (the SQLite store holds them for the moment its checkpoint needs no new commit).
 */
export function createAppendBatcher (write: (batch: PendingAppend[]) => void) {
  let queue: PendingAppend[] = []
  let scheduled = false
  let held = false

  function flush (): void {
    scheduled = false
    if (queue.length === 0) return
    const batch = queue
    queue = []
    write(batch)
  }

  function schedule (): void {
    if (scheduled || held || queue.length === 0) return
    scheduled = true
    setImmediate(() => {
      if (held) scheduled = false
      else flush()
    })
  }

  return {
    append (room: string, user: string, text: string, options: AppendOptions): Promise<Appended> {
      return new Promise<Appended>((resolve, reject) => {
        queue.push({ room, user, text, clientId: options.clientId, fields: options.fields, resolve, reject })
        schedule()
      })
    },
    hold (): void {
      held = true
    },
    release (): void {
      held = false
      schedule()
    },
    /** Writes what is queued now, for a store that is closing. */
    flush
  }
}
