import type { PostgresStorage } from '../../engine/postgres/storage.ts'
import { localTyping } from './local.ts'
import { redisTyping } from './redis.ts'
import type { TypingStore } from './store.ts'

/**
 * Typing with PostgreSQL: never in the database (too short-lived and too frequent to be worth a
 * write). With Redis between nodes, in Redis as on the Redis engine, so every node shows the
 * same typists; PostgreSQL alone serves one node, and keeps it in memory as SQLite does.
 */
export function postgresTyping (storage: PostgresStorage): TypingStore {
  return storage.redis === undefined ? localTyping(storage) : redisTyping(storage.redis)
}
