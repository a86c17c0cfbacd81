import type { Appended } from '../engine/types.ts'

/** A message waiting for its batch, with the caller's promise to settle. */
export interface PendingAppend {
  room: string
  user: string
  text: string
  clientId: string | undefined
  resolve: (appended: Appended) => void
  reject: (error: Error) => void
}

/**
 * Groups the appends made in one turn of the event loop and hands them to `write` together
 * on the next turn (setImmediate), so a burst costs one transaction or one pipeline instead
 * of one per message. Shared by every store.
 */
export function createAppendBatcher (write: (batch: PendingAppend[]) => void) {
  let queue: PendingAppend[] = []
  let scheduled = false

  function flush (): void {
    scheduled = false
    if (queue.length === 0) return
    const batch = queue
    queue = []
    write(batch)
  }

  return {
    append (room: string, user: string, text: string, clientId: string | undefined): Promise<Appended> {
      return new Promise<Appended>((resolve, reject) => {
        queue.push({ room, user, text, clientId, resolve, reject })
        if (!scheduled) {
          scheduled = true
          setImmediate(flush)
        }
      })
    },
    /** Writes what is queued now, for a store that is closing. */
    flush
  }
}
