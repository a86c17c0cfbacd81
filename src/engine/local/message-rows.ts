import type { Database } from 'better-sqlite3'
import type { Message } from '../../schemas/common.ts'

/**
 * A message as SQLite returns it when asked for MESSAGE_COLUMNS in raw mode: an array, absent
 * optional fields null. Raw rows skip the object better-sqlite3 would build for each row only to
 * be copied into the message: on a page of 50 messages that halves the cost of reading history.
 */
type MessageRow = [
  room: string, seq: number, id: string, user: string, text: string, time: string, clientId: string | null, fields: string | null
]

export const MESSAGE_COLUMNS = 'room, seq, id, user, text, time, client_id, fields'

/** The fields of a message that are the core's own columns; every other field is a feature's, kept in `fields`. */
const CORE_FIELDS = new Set(['room', 'seq', 'id', 'user', 'text', 'time', 'clientId'])

/** The `fields` column of a message: its features' fields as JSON, or null when it has none. */
export function fieldsOf (message: Message): string | null {
  let fields: Record<string, unknown> | undefined
  for (const [key, value] of Object.entries(message)) {
    if (!CORE_FIELDS.has(key) && value !== undefined) (fields ??= {})[key] = value
  }
  return fields === undefined ? null : JSON.stringify(fields)
}

/** The message object of the contract: optional fields are left out, not null. */
function toMessage (row: MessageRow): Message {
  const message: Message = { room: row[0], seq: row[1], id: row[2], user: row[3], text: row[4], time: row[5] }
  if (row[6] !== null) message.clientId = row[6]
  if (row[7] !== null) Object.assign(message, JSON.parse(row[7]))
  return message
}

/** A prepared query of MESSAGE_COLUMNS whose rows come back as messages. */
export function messageQuery<P extends unknown[]> (db: Database, sql: string) {
  const statement = db.prepare<P, MessageRow>(sql).raw(true)
  return {
    all: (...params: P): Message[] => statement.all(...params).map(toMessage),
    get: (...params: P): Message | undefined => {
      const row = statement.get(...params)
      return row === undefined ? undefined : toMessage(row)
    }
  }
}
