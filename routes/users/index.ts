import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { HttpError, UnreadList, UserParams } from '../../src/schemas/rest.ts'

const errors = { 400: HttpError, 401: HttpError, 429: HttpError }

/** What operators (or an app's backend) ask about one user; admin token like /rooms. */
const users: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.addHook('onRequest', fastify.requireAdmin)
  const security = [{ adminToken: [] }]

  fastify.get('/users/:user/unread', {
    schema: {
      tags: ['users'],
      summary: "The user's unread counts in every room where it has a read seq",
      security,
      params: UserParams,
      response: { 200: UnreadList, ...errors }
    }
  }, async (request) => ({ rooms: await fastify.readState.unreadOf(request.params.user) }))
}

export default users
