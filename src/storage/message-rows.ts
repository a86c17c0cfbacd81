import type { Message } from '../schemas/common.ts'

/** A message as read from its row: absent optional fields are null. */
export interface MessageRow {
  room: string
  seq: number
  id: string
  user: string
  text: string
  time: string
  clientId: string | null
  version: number | null
  editedAt: string | null
  deletedAt: string | null
}

export const MESSAGE_COLUMNS =
  'room, seq, id, user, text, time, client_id AS clientId, version, edited_at AS editedAt, deleted_at AS deletedAt'

/** The message object of the contract: optional fields are left out, not null. */
export function toMessage (row: MessageRow): Message {
  const message: Message = { room: row.room, seq: row.seq, id: row.id, user: row.user, text: row.text, time: row.time }
  if (row.clientId !== null) message.clientId = row.clientId
  if (row.version !== null) message.version = row.version
  if (row.editedAt !== null) message.editedAt = row.editedAt
  if (row.deletedAt !== null) {
    message.deleted = true
    message.deletedAt = row.deletedAt
  }
  return message
}

export const toMessages = (rows: MessageRow[]) => rows.map(toMessage)
