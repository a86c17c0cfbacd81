import type { StorageExtension } from '../../engine/extension.ts'
import { postgresSearch } from './postgres.ts'
import { redisSearch } from './redis.ts'
import { sqliteSearch } from './sqlite.ts'
import type { SearchStore } from './store.ts'

export const searchStorage: StorageExtension<SearchStore> = { name: 'search', local: sqliteSearch, redis: redisSearch, postgres: postgresSearch }
