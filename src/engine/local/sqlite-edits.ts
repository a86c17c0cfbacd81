import type { Database } from 'better-sqlite3'
import type { Change, Changer } from '../types.ts'
import type { Message } from '../../schemas/common.ts'
import { MESSAGE_COLUMNS, messageQuery } from './message-rows.ts'
import type { SqliteOutbox } from './sqlite-outbox.ts'

export interface EditsDeps {
  /** The room's latest seq, or undefined when the room does not exist. */
  latestSeq: (room: string) => number | undefined
  /** Where message.edited and message.deleted are recorded, in the change's transaction. */
  outbox: SqliteOutbox
}

/**
 * Edits and deletes of stored messages. A change rewrites the message's row in place (its seq
 * never moves) and stamps it with the room's latest seq, which is what recovery looks for: a
 * client that saw up to seq S missed the changes stamped S or later of messages up to S.
 */
export function createSqliteEdits (db: Database, deps: EditsDeps) {
  const statements = {
    message: messageQuery<[string, number]>(db, `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = ? AND seq = ?`),
    edit: db.prepare<[string, string, number, string, number]>(`UPDATE messages
      SET text = ?, edited_at = ?, version = COALESCE(version, 1) + 1, changed_seq = ? WHERE room = ? AND seq = ?`),
    delete: db.prepare<[string, number, string, number]>(`UPDATE messages
      SET text = '', deleted_at = ?, changed_seq = ? WHERE room = ? AND seq = ?`),
    changedUpTo: messageQuery<[string, number, number]>(db, `SELECT ${MESSAGE_COLUMNS} FROM messages
      WHERE room = ? AND changed_seq >= ? AND seq <= ? ORDER BY seq`)
  }

  /** The message to change, or why it cannot be changed by `by`. */
  function target (room: string, seq: number, by: Changer): { row: Message, latest: number } | Change {
    const latest = deps.latestSeq(room)
    const row = latest === undefined ? undefined : statements.message.get(room, seq)
    if (row === undefined || latest === undefined) return { outcome: 'not_found' }
    if ('user' in by && row.user !== by.user) return { outcome: 'forbidden' }
    return { row, latest }
  }

  const edit = db.transaction((room: string, seq: number, text: string, by: Changer): Change => {
    const found = target(room, seq, by)
    if ('outcome' in found) return found
    if (found.row.deleted === true) return { outcome: 'not_found' }
    const time = new Date().toISOString()
    statements.edit.run(text, time, found.latest, room, seq)
    const message = statements.message.get(room, seq)!
    deps.outbox.record('message.edited', room, time, message)
    return { outcome: 'changed', message }
  })

  const remove = db.transaction((room: string, seq: number, by: Changer): Change => {
    const found = target(room, seq, by)
    if ('outcome' in found) return found
    if (found.row.deleted === true) return { outcome: 'unchanged', message: found.row }
    const time = new Date().toISOString()
    statements.delete.run(time, found.latest, room, seq)
    const message = statements.message.get(room, seq)!
    deps.outbox.record('message.deleted', room, time, message)
    return { outcome: 'changed', message }
  })

  return {
    editMessage: (room: string, seq: number, text: string, by: Changer): Change => edit(room, seq, text, by),
    deleteMessage: (room: string, seq: number, by: Changer): Change => remove(room, seq, by),

    /** Retained messages up to `since` changed after message `since` was stored. */
    changedSince (room: string, since: number): Message[] {
      return since === 0 ? [] : statements.changedUpTo.all(room, since, since)
    }
  }
}
