import type { Database } from 'better-sqlite3'
import type { Change, Changer } from '../engine/types.ts'
import type { Message } from '../schemas/common.ts'
import { MESSAGE_COLUMNS, type MessageRow, toMessage, toMessages } from './message-rows.ts'

export interface EditsDeps {
  /** The room's latest seq, or undefined when the room does not exist. */
  latestSeq: (room: string) => number | undefined
}

/**
 * Edits and deletes of stored messages. A change rewrites the message's row in place (its seq
 * never moves) and stamps it with the room's latest seq, which is what recovery looks for: a
 * client that saw up to seq S missed the changes stamped S or later of messages up to S.
 */
export function createSqliteEdits (db: Database, deps: EditsDeps) {
  const statements = {
    message: db.prepare<[string, number], MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = ? AND seq = ?`),
    edit: db.prepare<[string, string, number, string, number]>(`UPDATE messages
      SET text = ?, edited_at = ?, version = COALESCE(version, 1) + 1, changed_seq = ? WHERE room = ? AND seq = ?`),
    delete: db.prepare<[string, number, string, number]>(`UPDATE messages
      SET text = '', deleted_at = ?, changed_seq = ? WHERE room = ? AND seq = ?`),
    changedUpTo: db.prepare<[string, number, number], MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages
      WHERE room = ? AND changed_seq >= ? AND seq <= ? ORDER BY seq`)
  }

  /** The message to change, or why it cannot be changed by `by`. */
  function target (room: string, seq: number, by: Changer): { row: MessageRow, latest: number } | Change {
    const latest = deps.latestSeq(room)
    const row = latest === undefined ? undefined : statements.message.get(room, seq)
    if (row === undefined || latest === undefined) return { outcome: 'not_found' }
    if ('user' in by && row.user !== by.user) return { outcome: 'forbidden' }
    return { row, latest }
  }

  return {
    editMessage (room: string, seq: number, text: string, by: Changer): Change {
      const found = target(room, seq, by)
      if ('outcome' in found) return found
      if (found.row.deletedAt !== null) return { outcome: 'not_found' }
      statements.edit.run(text, new Date().toISOString(), found.latest, room, seq)
      return { outcome: 'changed', message: toMessage(statements.message.get(room, seq)!) }
    },

    deleteMessage (room: string, seq: number, by: Changer): Change {
      const found = target(room, seq, by)
      if ('outcome' in found) return found
      if (found.row.deletedAt !== null) return { outcome: 'unchanged', message: toMessage(found.row) }
      statements.delete.run(new Date().toISOString(), found.latest, room, seq)
      return { outcome: 'changed', message: toMessage(statements.message.get(room, seq)!) }
    },

    /** Retained messages up to `since` changed after message `since` was stored. */
    changedSince (room: string, since: number): Message[] {
      return since === 0 ? [] : toMessages(statements.changedUpTo.all(room, since, since))
    }
  }
}
