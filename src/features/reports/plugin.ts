import fp from 'fastify-plugin'
import { Reports } from './reports.ts'
import routes from './routes.ts'
import type { ReportFrame } from './schemas.ts'
import { reportsStorage } from './storage.ts'

/** Reports: the `report` frame, the queue over REST and the `message.reported` webhook. */
export default fp(async (fastify) => {
  const reports = new Reports(fastify.rooms, fastify.engine.port(reportsStorage), fastify.messageEdits)
  fastify.frames.handle<ReportFrame>('report', (connection, frame) => reports.report(connection, frame))
  await fastify.register(routes, { reports })
}, { name: 'reports', dependencies: ['rooms', 'frames', 'storage', 'admin-auth', 'message-edits', 'message-schemas'] })
