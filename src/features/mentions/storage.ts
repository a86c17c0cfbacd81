import type { StorageExtension } from '../../engine/extension.ts'
import { postgresMentions } from './postgres.ts'
import { redisMentions } from './redis.ts'
import { sqliteMentions } from './sqlite.ts'
import type { MentionsStore } from './store.ts'

export const mentionsStorage: StorageExtension<MentionsStore> = { name: 'mentions', local: sqliteMentions, redis: redisMentions, postgres: postgresMentions }
