import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { Refused } from '../../engine/extension.ts'
import { refusedReply, roomNotFound } from '../../rooms/http-replies.ts'
import { errorResponses, RoomParams } from '../../schemas/rest.ts'
import type { Search } from './search.ts'
import { SearchQuerystring, searchResult } from './schemas.ts'

/** `GET /rooms/:id/messages/search?q=&limit=` (admin token): a search in one room. */
const routes: FastifyPluginAsyncTypebox<{ search: Search }> = async (fastify, { search }) => {
  fastify.addHook('onRequest', fastify.requireAdmin)
  fastify.get('/rooms/:id/messages/search', {
    schema: {
      tags: ['rooms'],
      operationId: 'searchMessages',
      summary: 'Messages of the room whose current text has every word of q (each matching the start of a word), newest first',
      security: [{ adminToken: [] }],
      params: RoomParams,
      querystring: SearchQuerystring,
      response: { 200: Type.Object({ messages: searchResult(fastify.protocol.message) }), ...errorResponses(400, 401, 404, 429, 500, 503) }
    }
  }, async (request, reply) => {
    const { id } = request.params
    if (!await fastify.roomAdmin.exists(id)) return roomNotFound(reply, id)
    try {
      return { messages: await search.inRoom(id, request.query.q, request.query.limit) }
    } catch (err) {
      if (err instanceof Refused) return refusedReply(reply, err)
      throw err
    }
  })
}

export default routes
