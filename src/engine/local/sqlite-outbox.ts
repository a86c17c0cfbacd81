import type { Database } from 'better-sqlite3'
import type { EventType } from '../../schemas/webhooks.ts'
import { eventBody } from '../shared/event-body.ts'
import { createRoomNotifier } from '../shared/room-notifier.ts'

/**
 * The recording side of the outbox: called inside the transaction of each change, so the change
 * and its event commit together or not at all. Types not selected (or no URL at all) cost one
 * set lookup. Whoever delivers hears of new rows once the transaction has committed.
 */
export function createSqliteOutbox (db: Database, events: ReadonlySet<EventType> | undefined) {
  const insert = db.prepare<[string, string]>('INSERT INTO webhook_outbox (room, body) VALUES (?, ?)')
  const notifier = createRoomNotifier()

  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM webhook_outbox')
  const outbox = {
    /** Rows waiting for at least one URL: counted once, then kept up to date by whoever adds or trims. */
    pending: count.get()!.n,

    /** Counts the rows again, after a transaction that recorded events was rolled back (if the database answers). */
    recount (): void {
      try {
        outbox.pending = count.get()!.n
      } catch {
        // The next recount, or the next trim, puts it right.
      }
    },

    wants (type: EventType): boolean {
      return events !== undefined && events.has(type)
    },

    /** Records the event when its type is selected; call inside the change's transaction. */
    record (type: EventType, room: string, time: string, data: object): void {
      if (events === undefined || !events.has(type)) return
      insert.run(room, eventBody(type, room, time, data))
      outbox.pending++
      outbox.changed(room)
    },

    /** Tells listeners (on the next turn, after the commit) that the room has new rows. */
    changed: notifier.changed,
    /** Told of the rooms with new rows, once per turn: no query needed to find them. */
    onChange: notifier.onChange
  }
  return outbox
}

export type SqliteOutbox = ReturnType<typeof createSqliteOutbox>
