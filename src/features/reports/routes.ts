import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { errorResponses } from '../../schemas/rest.ts'
import type { Reports } from './reports.ts'
import { reportObject, ReportIdParams, ResolveBody } from './schemas.ts'

/** The moderation queue over REST (admin token): open reports, and their resolution. */
const routes: FastifyPluginAsyncTypebox<{ reports: Reports }> = async (fastify, { reports }) => {
  fastify.addHook('onRequest', fastify.requireAdmin)
  const security = [{ adminToken: [] }]
  const Report = reportObject(fastify.protocol.message)

  fastify.get('/reports', {
    schema: {
      tags: ['moderation'],
      operationId: 'getReports',
      summary: 'Open reports, oldest first',
      security,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) }),
      response: { 200: Type.Object({ reports: Type.Array(Report) }), ...errorResponses(400, 401, 429, 500, 503) }
    }
  }, async (request) => ({ reports: await reports.open(request.query.limit ?? 100) }))

  fastify.post('/reports/:id/resolve', {
    schema: {
      tags: ['moderation'],
      operationId: 'resolveReport',
      summary: 'Resolves a report: dismiss keeps the message, delete deletes it; the report leaves the queue',
      security,
      params: ReportIdParams,
      body: ResolveBody,
      response: { 204: Type.Null(), ...errorResponses(400, 401, 404, 413, 415, 429, 500, 503) }
    }
  }, async (request, reply) => {
    if (!await reports.resolve(request.params.id, request.body.action)) {
      return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `report ${request.params.id} is not open` })
    }
    return reply.code(204).send(null)
  })
}

export default routes
