import type { StorageExtension } from '../../engine/extension.ts'
import { postgresEdits } from './postgres.ts'
import { redisEdits } from './redis.ts'
import { sqliteEdits } from './sqlite.ts'
import type { EditsStore } from './store.ts'

export const editsStorage: StorageExtension<EditsStore> = { name: 'message-edits', local: sqliteEdits, redis: redisEdits, postgres: postgresEdits }
