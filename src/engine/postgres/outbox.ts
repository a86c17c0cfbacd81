import type { EventType } from '../../schemas/webhooks.ts'
import { eventBody } from '../shared/event-body.ts'
import { createRoomNotifier } from '../shared/room-notifier.ts'
import type { Sql } from './storage.ts'
import { Tx } from './transactions.ts'

/**
 * The recording side of the outbox on PostgreSQL: an event is a row written in the transaction
 * of the change it reports, so both commit or neither does. This node's deliverers hear of the
 * rooms with new rows once the transaction has committed (other nodes' rows are found by their
 * deliverers' polls: postgres/webhooks.ts).
 */
export function createPostgresOutbox (events: ReadonlySet<EventType> | undefined) {
  const notifier = createRoomNotifier()
  const outbox = {
    wants (type: string): boolean {
      return events !== undefined && events.has(type as EventType)
    },

    /** Records the event when its type is selected; call inside the change's transaction. */
    async record (tx: Sql, type: string, room: string, time: string, data: object): Promise<void> {
      if (!outbox.wants(type)) return
      await outbox.recordBodies(tx, room, [eventBody(type as EventType, room, time, data)])
    },

    /** Records bodies made already (several events of one room in one statement). */
    async recordBodies (tx: Sql, room: string, bodies: string[], targets?: string[]): Promise<void> {
      if (bodies.length === 0) return
      await tx.query('INSERT INTO webhook_outbox (room, body, targets) SELECT $1, body, $3::jsonb FROM unnest($2::text[]) AS b(body)',
        [room, bodies, targets === undefined ? null : JSON.stringify(targets)])
      if (tx instanceof Tx) tx.afterCommit(() => outbox.changed(room))
      else outbox.changed(room)
    },

    changed: notifier.changed,
    onChange: notifier.onChange
  }
  return outbox
}

export type PostgresOutbox = ReturnType<typeof createPostgresOutbox>
