import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, UnreadList, UserParams } from '../../src/schemas/rest.ts'

/** What operators (or an app's backend) ask about one user; admin token like /rooms. */
const users: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.addHook('onRequest', fastify.requireAdmin)
  const security = [{ adminToken: [] }]

  fastify.get('/users/:user/unread', {
    schema: {
      tags: ['users'],
      operationId: 'getUnread',
      summary: "The user's unread counts in every room where it has a read seq",
      security,
      params: UserParams,
      response: { 200: UnreadList, ...errorResponses(400, 401, 429, 500, 503) }
    }
  }, async (request) => ({ rooms: await fastify.readState.unreadOf(request.params.user) }))
}

export default users
