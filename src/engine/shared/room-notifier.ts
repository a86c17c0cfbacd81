/**
 * Tells listeners which rooms have new outbox rows, once per turn of the event loop, so a
 * deliverer wakes those rooms without a query to find them.
 */
export function createRoomNotifier () {
  const listeners: ((rooms: ReadonlySet<string>) => void)[] = []
  let rooms = new Set<string>()
  const notify = () => {
    const told = rooms
    rooms = new Set()
    for (const listener of listeners) listener(told)
  }
  return {
    /** The room has new rows: listeners hear of it on the next turn. */
    changed (room: string): void {
      if (listeners.length === 0) return
      if (rooms.size === 0) setImmediate(notify)
      rooms.add(room)
    },
    onChange (listener: (rooms: ReadonlySet<string>) => void): void {
      listeners.push(listener)
    }
  }
}
