import type { StorageExtension } from '../../engine/extension.ts'
import { localTyping } from './local.ts'
import { postgresTyping } from './postgres.ts'
import { redisTyping } from './redis.ts'
import type { TypingStore } from './store.ts'

export const typingStorage: StorageExtension<TypingStore> = { name: 'typing', local: localTyping, redis: redisTyping, postgres: postgresTyping }
