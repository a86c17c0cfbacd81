import { MESSAGE_COLUMNS, queryMessages } from '../../engine/postgres/message-rows.ts'
import type { PostgresStorage } from '../../engine/postgres/storage.ts'
import type { UserMessagesStore } from './store.ts'

/**
 * A user's messages on PostgreSQL: one pass over the messages table, in one snapshot. No index
 * by user, as on SQLite: every append of every node would pay for its entry (and every trim for
 * its removal), on the table all writes go to, for an operator's rare request (an export, an
 * erasure), which a sequential scan answers without holding up writes (it takes no lock they wait for).
 * Rooms are ordered as bytes (COLLATE "C"), as SQLite orders them, whatever the database's collation.
 */
export function postgresUserMessages (storage: PostgresStorage): UserMessagesStore {
  return {
    async messagesOf (user) {
      return await queryMessages(storage.sql, `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE user_id = $1 ORDER BY room COLLATE "C", seq`, [user])
    }
  }
}
