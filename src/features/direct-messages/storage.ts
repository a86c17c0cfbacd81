import type { StorageExtension } from '../../engine/extension.ts'
import { postgresDms } from './postgres.ts'
import { redisDms } from './redis.ts'
import { sqliteDms } from './sqlite.ts'
import type { DmStore } from './store.ts'

export const dmStorage: StorageExtension<DmStore> = { name: 'direct-messages', local: sqliteDms, redis: redisDms, postgres: postgresDms }
