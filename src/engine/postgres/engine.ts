import type { Config } from '../../config.ts'
import { EventKinds } from '../events.ts'
import type { StorageExtension } from '../extension.ts'
import { createRecordingBroker } from '../local/broker.ts'
import { portOf } from '../shared/ports.ts'
import type { ChatEngine } from '../types.ts'
import { createPostgresStore } from './store.ts'

export interface PostgresEngineOptions {
  extensions: StorageExtension[]
  /** How long a clientId is remembered (CLIENT_ID_TTL_MS; shorter only in tests). */
  clientIdTtlMs?: number
}

/**
 * PostgreSQL alone (CHAT_DATABASE_URL without REDIS_URL): history, rooms and every feature's data
 * in PostgreSQL, fan-out and presence in this process, as with SQLite. One node; several nodes
 * add REDIS_URL for fan-out between them.
 */
export async function createPostgresEngine (config: Config, options: PostgresEngineOptions): Promise<ChatEngine> {
  // Presence lives in this process: the broker tells the store, which records its events.
  const { broker, recordInto } = createRecordingBroker()
  const store = createPostgresStore({
    url: config.CHAT_DATABASE_URL!,
    defaultHistoryLimit: config.CHAT_HISTORY_LIMIT,
    defaultRetentionDays: config.CHAT_RETENTION_DAYS,
    clientIdTtlMs: options.clientIdTtlMs,
    events: config.webhooks?.events,
    presence: broker.presence,
    publish: (event) => broker.publish(event)
  })
  recordInto(store)
  const ports = await store.start(options.extensions)
  return {
    name: 'postgres',
    store,
    broker,
    webhooks: store.webhooks,
    storagePublishes: false,
    unboundedHistory: true,
    events: new EventKinds(),
    port: portOf(ports)
  }
}
