import type { StorageExtension } from '../../engine/extension.ts'
import { postgresSanctions } from './postgres.ts'
import { redisSanctions } from './redis.ts'
import { sqliteSanctions } from './sqlite.ts'
import type { SanctionsStore } from './store.ts'

export const sanctionsStorage: StorageExtension<SanctionsStore> = { name: 'moderation', local: sqliteSanctions, redis: redisSanctions, postgres: postgresSanctions }
