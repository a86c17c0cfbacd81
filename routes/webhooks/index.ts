import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, httpError, NoContent } from '../../src/schemas/rest.ts'
import { FAILED_LIMIT_MAX, FailedList, FailedParams, FailedQuery } from '../../src/schemas/webhooks.ts'

/** Parked webhook events: what could not be delivered after the last attempt, and replaying it. Admin token like /rooms. */
const webhooks: FastifyPluginAsyncTypebox = async (fastify) => {
  const store = fastify.engine.webhooks
  fastify.addHook('onRequest', fastify.requireAdmin)
  const security = [{ adminToken: [] }]

  fastify.get('/webhooks/failed', {
    schema: {
      tags: ['webhooks'],
      operationId: 'listFailedWebhooks',
      summary: 'Events parked after CHAT_WEBHOOK_MAX_ATTEMPTS failed attempts, one entry per event and URL, oldest first',
      description: `At most \`limit\` entries (${FAILED_LIMIT_MAX} when absent); retrying events takes them off the list.`,
      security,
      querystring: FailedQuery,
      response: { 200: FailedList, ...errorResponses(400, 401, 429, 500, 503) }
    }
  }, async (request) => ({ events: await store.failed(request.query.limit ?? FAILED_LIMIT_MAX) }))

  fastify.post('/webhooks/failed/:id/retry', {
    schema: {
      tags: ['webhooks'],
      operationId: 'retryFailedWebhook',
      summary: 'Send a parked event again to the URLs it was parked for; it leaves the list',
      description: 'The event goes after the events its room has now, with the same id (webhook-id) and body, ' +
        'and the usual attempts and retries. A URL no longer in CHAT_WEBHOOK_URLS is skipped.',
      security,
      params: FailedParams,
      response: {
        202: NoContent('queued for delivery again'),
        ...errorResponses(400, 401, 429, 500, 503),
        404: httpError('No parked event has this id')
      }
    }
  }, async (request, reply) => {
    const { id } = request.params
    if (!await store.retry(id)) {
      return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no parked event has id ${id}` })
    }
    return reply.code(202).send(null)
  })
}

export default webhooks
