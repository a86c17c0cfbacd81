import type { StorageExtension } from '../../engine/extension.ts'
import { postgresPush } from './postgres.ts'
import { redisPush } from './redis.ts'
import { sqlitePush } from './sqlite.ts'
import type { PushStore } from './store.ts'

export const pushStorage: StorageExtension<PushStore> = { name: 'push', local: sqlitePush, redis: redisPush, postgres: postgresPush }
