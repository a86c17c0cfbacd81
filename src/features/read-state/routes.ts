import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { roomNotFound } from '../../rooms/http-replies.ts'
import { errorResponses, RoomParams, UserParams } from '../../schemas/rest.ts'
import type { ReadState } from './read-state.ts'
import { RoomUnreadFields, UserRead } from './schemas.ts'

/** Read state over REST (admin token): who read a room how far, and a user's unread counts. */
const routes: FastifyPluginAsyncTypebox<{ readState: ReadState }> = async (fastify, { readState }) => {
  fastify.addHook('onRequest', fastify.requireAdmin)
  const security = [{ adminToken: [] }]
  const RoomUnread = fastify.protocol.object('RoomUnread', RoomUnreadFields)

  fastify.get('/rooms/:id/reads', {
    schema: {
      tags: ['rooms'],
      operationId: 'getReads',
      summary: 'Read seqs of the room ("seen by")',
      security,
      params: RoomParams,
      response: {
        200: Type.Object({ reads: Type.Array(UserRead, { description: 'every user with a read seq in the room, by user id' }) }),
        ...errorResponses(400, 401, 404, 429, 500, 503)
      }
    }
  }, async (request, reply) => {
    const { id } = request.params
    if (!await fastify.roomAdmin.exists(id)) return roomNotFound(reply, id)
    return { reads: await readState.readsOf(id) }
  })

  fastify.get('/users/:user/unread', {
    schema: {
      tags: ['users'],
      operationId: 'getUnread',
      summary: "The user's unread counts in every room where it has a read seq",
      security,
      params: UserParams,
      response: {
        200: Type.Object({ rooms: Type.Array(RoomUnread, { description: 'every room where the user has a read seq, by room id' }) }),
        ...errorResponses(400, 401, 429, 500, 503)
      }
    }
  }, async (request) => ({ rooms: await readState.unreadOf(request.params.user) }))
}

export default routes
