import type { LocalStorage } from '../../engine/local/storage.ts'
import type { EditedMessage } from './schemas.ts'
import { type Changer, type EditChange, type EditsStore, withFields } from './store.ts'

/**
 * Migrations of edits. The fields of an edit lived in columns of their own; they move into the
 * message's features' fields, like every feature's.
 */
const MIGRATIONS = [
  `
  UPDATE messages SET fields = json_patch(COALESCE(fields, '{}'), json_object(
    'version', version, 'editedAt', edited_at,
    'deleted', CASE WHEN deleted_at IS NOT NULL THEN json('true') END, 'deletedAt', deleted_at))
  WHERE version IS NOT NULL OR deleted_at IS NOT NULL;
  ALTER TABLE messages DROP COLUMN version;
  ALTER TABLE messages DROP COLUMN edited_at;
  ALTER TABLE messages DROP COLUMN deleted_at;
  `
]

/** Edits and deletes on SQLite: a change rewrites the message in place through the core's save, which records it for recovery. */
export function sqliteEdits (storage: LocalStorage): EditsStore {
  storage.migrate('message-edits', MIGRATIONS)
  const { messages } = storage

  /** The message to change, or why it cannot be changed by `by`. */
  function target (room: string, seq: number, by: Changer): EditedMessage | EditChange {
    const message = messages.latestSeq(room) === undefined ? undefined : messages.get(room, seq) as EditedMessage | undefined
    if (message === undefined) return { outcome: 'not_found' }
    if ('user' in by && message.user !== by.user) return { outcome: 'forbidden' }
    return message
  }

  const change = storage.db.transaction((room: string, seq: number, op: 'edit' | 'delete', text: string,
    fields: Record<string, unknown>, by: Changer): EditChange => {
    const before = target(room, seq, by)
    if ('outcome' in before) return before
    if (before.deleted === true) return op === 'delete' ? { outcome: 'unchanged', message: before } : { outcome: 'not_found' }
    const time = new Date().toISOString()
    const after: EditedMessage = op === 'edit'
      ? withFields({ ...before, text, version: (before.version ?? 1) + 1, editedAt: time }, fields)
      : withFields({ ...before, text: '', deleted: true, deletedAt: time }, fields)
    messages.save(before, after)
    storage.record(op === 'edit' ? 'message.edited' : 'message.deleted', room, time, after)
    return { outcome: 'changed', message: after }
  })

  function run (room: string, seq: number, op: 'edit' | 'delete', text: string, fields: Record<string, unknown>, by: Changer, publish: boolean): Promise<EditChange> {
    const result = change(room, seq, op, text, fields, by)
    // Published once committed, as the Redis script publishes in its step.
    if (result.outcome === 'changed' && publish) storage.publish({ kind: 'updated', message: result.message })
    return Promise.resolve(result)
  }

  return {
    edit: (room, seq, text, fields, by, publish) => run(room, seq, 'edit', text, fields, by, publish),
    delete: (room, seq, fields, by, publish) => run(room, seq, 'delete', '', fields, by, publish)
  }
}
