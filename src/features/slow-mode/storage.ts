import type { StorageExtension } from '../../engine/extension.ts'
import { postgresSlowMode } from './postgres.ts'
import { redisSlowMode } from './redis.ts'
import { sqliteSlowMode } from './sqlite.ts'
import type { SlowModeStore } from './store.ts'

export const slowModeStorage: StorageExtension<SlowModeStore> = { name: 'slow-mode', local: sqliteSlowMode, redis: redisSlowMode, postgres: postgresSlowMode }
