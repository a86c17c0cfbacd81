import pino from 'pino'
import type { Config } from '../config.ts'
import { createSqliteStore } from '../storage/sqlite-store.ts'
import { createLocalBroker } from './local-broker.ts'
import { createRedisEngine, type EngineLog } from './redis-engine.ts'
import type { ChatEngine } from './types.ts'

/** Picks the engine the configuration asks for: Redis when REDIS_URL is set, else SQLite in this process. */
export async function createEngine(config: Config, log?: EngineLog): Promise<ChatEngine> {
  if (config.REDIS_URL !== undefined) {
    return await createRedisEngine({
      url: config.REDIS_URL,
      cluster: config.CHAT_REDIS_CLUSTER,
      defaultHistoryLimit: config.CHAT_HISTORY_LIMIT,
      log: log ?? pino({ level: config.LOG_LEVEL })
    })
  }
  return {
    name: 'local',
    store: createSqliteStore({ path: config.CHAT_DB, defaultHistoryLimit: config.CHAT_HISTORY_LIMIT }),
    broker: createLocalBroker()
  }
}
