import type { StorageExtension } from '../../engine/extension.ts'
import { postgresRoles } from './postgres.ts'
import { redisRoles } from './redis.ts'
import { sqliteRoles } from './sqlite.ts'
import type { RolesStore } from './store.ts'

export const rolesStorage: StorageExtension<RolesStore> = { name: 'roles', local: sqliteRoles, redis: redisRoles, postgres: postgresRoles }
