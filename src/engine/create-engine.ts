import pino from 'pino'
import type { Config } from '../config.ts'
import { EventKinds } from './events.ts'
import type { StorageExtension } from './extension.ts'
import { createRecordingBroker } from './local/broker.ts'
import { createSqliteStore } from './local/sqlite-store.ts'
import { createPostgresEngine } from './postgres/engine.ts'
import { createPostgresRedisEngine } from './postgres/with-redis.ts'
import { createRedisEngine, type EngineLog } from './redis/engine.ts'
import { redisTargetOf } from './redis/target.ts'
import { portOf } from './shared/ports.ts'
import type { ChatEngine } from './types.ts'

export interface EngineOptions {
  log?: EngineLog
  /** The features' storage, built on the engine while it starts. */
  extensions?: StorageExtension[]
}

/**
 * Picks the engine the configuration asks for: PostgreSQL when CHAT_DATABASE_URL is set (with
 * Redis between nodes when REDIS_URL or REDIS_SENTINELS is too), Redis when only REDIS_URL (or
 * REDIS_SENTINELS) is, else SQLite in this process.
 */
export async function createEngine (config: Config, options: EngineOptions = {}): Promise<ChatEngine> {
  const extensions = options.extensions ?? []
  const redis = config.REDIS_URL !== undefined || config.REDIS_SENTINELS !== undefined
  if (config.CHAT_DATABASE_URL !== undefined) {
    return redis
      ? await createPostgresRedisEngine(config, { extensions, log: options.log ?? pino({ level: config.LOG_LEVEL }) })
      : await createPostgresEngine(config, { extensions })
  }
  if (redis) {
    return await createRedisEngine({
      ...redisTargetOf(config),
      ackReplicas: config.CHAT_REDIS_ACK_REPLICAS,
      defaultHistoryLimit: config.CHAT_HISTORY_LIMIT,
      log: options.log ?? pino({ level: config.LOG_LEVEL }),
      outbox: config.webhooks === undefined ? undefined : { events: config.webhooks.events },
      extensions
    })
  }
  // Presence lives in this process: the broker tells the store, which records its events.
  const { broker, recordInto } = createRecordingBroker()
  const store = createSqliteStore({
    path: config.CHAT_DB,
    defaultHistoryLimit: config.CHAT_HISTORY_LIMIT,
    defaultRetentionDays: config.CHAT_RETENTION_DAYS,
    events: config.webhooks?.events,
    presence: broker.presence,
    publish: (event) => broker.publish(event)
  })
  recordInto(store)
  const ports = new Map<StorageExtension, unknown>()
  try {
    for (const extension of extensions) ports.set(extension, extension.local(store.storage))
  } catch (err) {
    await store.close()
    throw err
  }
  return {
    name: 'local',
    store,
    broker,
    webhooks: store.webhooks,
    storagePublishes: false,
    unboundedHistory: true,
    events: new EventKinds(),
    port: portOf(ports)
  }
}
