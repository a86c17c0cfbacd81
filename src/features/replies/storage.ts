import type { StorageExtension } from '../../engine/extension.ts'
import { postgresReplies } from './postgres.ts'
import { redisReplies } from './redis.ts'
import { sqliteReplies } from './sqlite.ts'
import type { RepliesStore } from './store.ts'

export const repliesStorage: StorageExtension<RepliesStore> = { name: 'replies', local: sqliteReplies, redis: redisReplies, postgres: postgresReplies }
