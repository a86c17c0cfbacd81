import type { Change } from '../../hub/message-updates.ts'
import type { EditedMessage } from './schemas.ts'

/** Who asks for an edit or delete: a user (its own messages only) or an operator (any message). */
export type Changer = { user: string } | { admin: true }

export type EditChange = Change<EditedMessage>

/**
 * The port of edits and deletes. A change keeps the message's seq, is recorded for recovery and
 * for webhooks (message.edited, message.deleted) in the step that makes it, and, when `publish`,
 * is published to the room as `updated` in that step too. `fields` are the fields derived from
 * the new text (mentions), set on the message; an undefined one is removed.
 */
export interface EditsStore {
  /** Replaces the text of a retained, undeleted message (version + 1, editedAt). */
  edit (room: string, seq: number, text: string, fields: Record<string, unknown>, by: Changer, publish: boolean): Promise<EditChange>
  /** Makes the message a tombstone (text '', deleted, deletedAt), keeping its seq; a deleted one is `unchanged`. */
  delete (room: string, seq: number, fields: Record<string, unknown>, by: Changer, publish: boolean): Promise<EditChange>
}

/** `message` with `fields` applied: set, or removed when undefined. */
export function withFields<M extends object> (message: M, fields: Record<string, unknown>): M {
  const next = { ...message } as Record<string, unknown>
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) delete next[key]
    else next[key] = value
  }
  return next as M
}
