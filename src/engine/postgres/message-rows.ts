import type { Message } from '../../schemas/common.ts'
import { fieldsOf } from '../local/message-rows.ts'
import type { Sql } from './storage.ts'

/**
 * A message row as node-postgres returns MESSAGE_COLUMNS: `fields` (jsonb) already parsed,
 * absent optional columns null. `user` is a reserved word in PostgreSQL: the column is user_id.
 */
export interface MessageRow {
  room: string
  seq: number
  id: string
  user_id: string
  text: string
  time: string
  client_id: string | null
  fields: Record<string, unknown> | null
}

export const MESSAGE_COLUMNS = 'room, seq, id, user_id, text, time, client_id, fields'

/** MESSAGE_COLUMNS of the messages table under an alias (`m.room, m.seq…`), for joins. */
export const messageColumnsOf = (alias: string) => MESSAGE_COLUMNS.split(', ').map((column) => `${alias}.${column}`).join(', ')

/** The message object of the contract: optional fields are left out, not null. */
export function toMessage (row: MessageRow): Message {
  const message: Message = { room: row.room, seq: row.seq, id: row.id, user: row.user_id, text: row.text, time: row.time }
  if (row.client_id !== null) message.clientId = row.client_id
  if (row.fields !== null) Object.assign(message, row.fields)
  return message
}

/** The `fields` column of a message (its features' fields), as the JSON text a jsonb parameter takes; null without any. */
export const fieldsJson = (message: Message): string | null => fieldsOf(message)

/** Runs a query of MESSAGE_COLUMNS and returns its rows as messages. */
export async function queryMessages (sql: Sql, text: string, values: unknown[]): Promise<Message[]> {
  const { rows } = await sql.query<MessageRow>(text, values)
  return rows.map(toMessage)
}
