import pino from 'pino'
import type { Config } from '../config.ts'
import { createSqliteStore, type SqliteStore } from './local/sqlite-store.ts'
import { createLocalBroker } from './local/broker.ts'
import { createRedisEngine, type EngineLog } from './redis/engine.ts'
import type { ChatEngine } from './types.ts'

/** Picks the engine the configuration asks for: Redis when REDIS_URL is set, else SQLite in this process. */
export async function createEngine (config: Config, log?: EngineLog): Promise<ChatEngine> {
  if (config.REDIS_URL !== undefined) {
    return await createRedisEngine({
      url: config.REDIS_URL,
      cluster: config.CHAT_REDIS_CLUSTER,
      defaultHistoryLimit: config.CHAT_HISTORY_LIMIT,
      log: log ?? pino({ level: config.LOG_LEVEL }),
      outbox: config.webhooks === undefined ? undefined : { events: config.webhooks.events }
    })
  }
  // Presence lives in this process: the broker tells the store, which records its events.
  let store: SqliteStore | undefined
  const broker = createLocalBroker({
    onPresence: (room, event, user) => store?.recordEvent(`presence.${event}`, room, new Date().toISOString(), { user })
  })
  store = createSqliteStore({
    path: config.CHAT_DB,
    defaultHistoryLimit: config.CHAT_HISTORY_LIMIT,
    events: config.webhooks?.events,
    presence: broker.presence
  })
  return { name: 'local', store, broker, webhooks: store.webhooks }
}
