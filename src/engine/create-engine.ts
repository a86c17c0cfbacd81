import type { Config } from '../config.ts'
import { ConfigError } from '../config.ts'
import { createSqliteStore } from '../storage/sqlite-store.ts'
import { createLocalBroker } from './local-broker.ts'
import type { ChatEngine } from './types.ts'

/** Picks the engine the configuration asks for. */
export async function createEngine(config: Config): Promise<ChatEngine> {
  if (config.REDIS_URL !== undefined) {
    throw new ConfigError('REDIS_URL: the Redis engine is not part of this release; unset REDIS_URL to run on the embedded SQLite engine')
  }
  return {
    name: 'local',
    store: createSqliteStore({ path: config.CHAT_DB, defaultHistoryLimit: config.CHAT_HISTORY_LIMIT }),
    broker: createLocalBroker()
  }
}
