import type { StorageExtension } from '../../engine/extension.ts'
import { postgresReports } from './postgres.ts'
import { redisReports } from './redis.ts'
import { sqliteReports } from './sqlite.ts'
import type { ReportsStore } from './store.ts'

export const reportsStorage: StorageExtension<ReportsStore> = { name: 'reports', local: sqliteReports, redis: redisReports, postgres: postgresReports }
