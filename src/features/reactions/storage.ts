import type { StorageExtension } from '../../engine/extension.ts'
import { postgresReactions } from './postgres.ts'
import { redisReactions } from './redis.ts'
import { sqliteReactions } from './sqlite.ts'
import type { ReactionsStore } from './store.ts'

export const reactionsStorage: StorageExtension<ReactionsStore> = { name: 'reactions', local: sqliteReactions, redis: redisReactions, postgres: postgresReactions }
