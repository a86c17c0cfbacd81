import type { PostgresStorage, Sql } from '../../engine/postgres/storage.ts'
import type { EditedMessage } from './schemas.ts'
import { type Changer, type EditChange, type EditsStore, withFields } from './store.ts'

/**
 * Edits and deletes on PostgreSQL: a change rewrites the message in place through the core's
 * save, which records it for recovery, in a transaction holding the room's lock. No tables of
 * their own: their fields were born in the message's features' fields here, so unlike SQLite
 * there is nothing to migrate.
 */
export function postgresEdits (storage: PostgresStorage): EditsStore {
  const { messages } = storage

  /** The message to change, or why it cannot be changed by `by`. */
  async function target (tx: Sql, room: string, seq: number, by: Changer): Promise<EditedMessage | EditChange> {
    const message = await messages.latestSeq(tx, room) === undefined ? undefined : await messages.get(tx, room, seq) as EditedMessage | undefined
    if (message === undefined) return { outcome: 'not_found' }
    if ('user' in by && message.user !== by.user) return { outcome: 'forbidden' }
    return message
  }

  const change = (room: string, seq: number, op: 'edit' | 'delete', text: string, fields: Record<string, unknown>,
    by: Changer) => storage.inRoom(room, async (tx): Promise<EditChange> => {
    const before = await target(tx, room, seq, by)
    if ('outcome' in before) return before
    if (before.deleted === true) return op === 'delete' ? { outcome: 'unchanged', message: before } : { outcome: 'not_found' }
    const time = new Date().toISOString()
    const after: EditedMessage = op === 'edit'
      ? withFields({ ...before, text, version: (before.version ?? 1) + 1, editedAt: time }, fields)
      : withFields({ ...before, text: '', deleted: true, deletedAt: time }, fields)
    await messages.save(tx, before, after)
    await storage.record(tx, op === 'edit' ? 'message.edited' : 'message.deleted', room, time, after)
    return { outcome: 'changed', message: after }
  })

  async function run (room: string, seq: number, op: 'edit' | 'delete', text: string, fields: Record<string, unknown>, by: Changer, publish: boolean): Promise<EditChange> {
    const result = await change(room, seq, op, text, fields, by)
    // Published once committed, as the Redis script publishes in its step.
    if (result.outcome === 'changed' && publish) storage.publish({ kind: 'updated', message: result.message })
    return result
  }

  return {
    edit: (room, seq, text, fields, by, publish) => run(room, seq, 'edit', text, fields, by, publish),
    delete: (room, seq, fields, by, publish) => run(room, seq, 'delete', '', fields, by, publish)
  }
}
