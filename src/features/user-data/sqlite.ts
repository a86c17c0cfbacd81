import type { LocalStorage } from '../../engine/local/storage.ts'
import type { Message } from '../../schemas/common.ts'
import type { UserMessagesStore } from './store.ts'

/**
 * A user's messages on SQLite: one pass over the messages table. No index by user: it would
 * cost every message a write more for an operator's rare request.
 */
export function sqliteUserMessages (storage: LocalStorage): UserMessagesStore {
  const { db, messages } = storage
  const ofUser = db.prepare<[string], { room: string, seq: number }>('SELECT room, seq FROM messages WHERE user = ? ORDER BY room, seq')
  return {
    async messagesOf (user) {
      return ofUser.all(user).map(({ room, seq }) => messages.get(room, seq)).filter((message): message is Message => message !== undefined)
    }
  }
}
