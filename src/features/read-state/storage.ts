import type { StorageExtension } from '../../engine/extension.ts'
import { postgresReads } from './postgres.ts'
import { redisReads } from './redis.ts'
import { sqliteReads } from './sqlite.ts'
import type { ReadStore } from './store.ts'

export const readStorage: StorageExtension<ReadStore> = { name: 'read-state', local: sqliteReads, redis: redisReads, postgres: postgresReads }
