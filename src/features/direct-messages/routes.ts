import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { errorResponses, UserParams } from '../../schemas/rest.ts'
import type { DirectMessages } from './direct-messages.ts'
import { Dm, DmBody, roomEntry } from './schemas.ts'

/** Direct messages and users' rooms lists over REST (admin token). */
const routes: FastifyPluginAsyncTypebox<{ dms: DirectMessages }> = async (fastify, { dms }) => {
  fastify.addHook('onRequest', fastify.requireAdmin)
  const security = [{ adminToken: [] }]
  const RoomEntry = roomEntry(fastify.protocol.message)

  fastify.post('/dms', {
    schema: {
      tags: ['users'],
      operationId: 'openDm',
      summary: 'Opens (or finds) the direct-message room of 2 to 10 users: private, granted to exactly them',
      security,
      body: DmBody,
      response: { 200: Dm, ...errorResponses(400, 401, 413, 415, 429, 500, 503) }
    }
  }, async (request, reply) => {
    const users = [...new Set(request.body.users)]
    if (users.length < 2) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: 'users must name at least 2 different users' })
    return await dms.open(users)
  })

  fastify.get('/users/:user/rooms', {
    schema: {
      tags: ['users'],
      operationId: 'getUserRooms',
      summary: "The user's rooms (a read seq, a grant or a direct message), newest message first",
      security,
      params: UserParams,
      response: { 200: Type.Object({ rooms: Type.Array(RoomEntry) }), ...errorResponses(400, 401, 429, 500, 503) }
    }
  }, async (request) => ({ rooms: await dms.roomsOf(request.params.user) }))
}

export default routes
