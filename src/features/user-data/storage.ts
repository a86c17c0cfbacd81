import type { StorageExtension } from '../../engine/extension.ts'
import { postgresUserMessages } from './postgres.ts'
import { redisUserMessages } from './redis.ts'
import { sqliteUserMessages } from './sqlite.ts'
import type { UserMessagesStore } from './store.ts'

export const userMessagesStorage: StorageExtension<UserMessagesStore> = { name: 'user-data', local: sqliteUserMessages, redis: redisUserMessages, postgres: postgresUserMessages }
