import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { errorResponses, MessageParams } from '../../schemas/rest.ts'
import type { Reactions } from './reactions.ts'
import { Reaction } from './schemas.ts'

/** Every reaction of a message, for operators (admin token). */
const routes: FastifyPluginAsyncTypebox<{ reactions: Reactions }> = async (fastify, { reactions }) => {
  fastify.addHook('onRequest', fastify.requireAdmin)

  fastify.get('/rooms/:id/messages/:seq/reactions', {
    schema: {
      tags: ['rooms'],
      operationId: 'listReactions',
      summary: 'Every reaction of a message, oldest first',
      security: [{ adminToken: [] }],
      params: MessageParams,
      response: {
        200: Type.Object({ reactions: Type.Array(Reaction, { description: 'every reaction, oldest first' }) }),
        ...errorResponses(400, 401, 404, 429, 500, 503)
      }
    }
  }, async (request, reply) => {
    const { id, seq } = request.params
    const list = await reactions.list(id, seq)
    if (list === undefined) {
      return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `message ${seq} of room ${id} is not retained` })
    }
    return { reactions: list }
  })
}

export default routes
