import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { errorResponses, UserParams } from '../../schemas/rest.ts'
import { userExport } from './schemas.ts'
import type { UserData } from './user-data.ts'

/** A user's data over REST (admin token): its export, and the deletion of its messages. */
const routes: FastifyPluginAsyncTypebox<{ userData: UserData }> = async (fastify, { userData }) => {
  fastify.addHook('onRequest', fastify.requireAdmin)
  const security = [{ adminToken: [] }]
  fastify.get('/users/:user/export', {
    schema: {
      tags: ['users'],
      operationId: 'exportUser',
      summary: 'Everything kept about the user: its retained messages, read state, grants, roles and push subscriptions',
      security,
      params: UserParams,
      response: { 200: userExport(fastify.protocol.message), ...errorResponses(400, 401, 429, 500, 503) }
    }
  }, async (request, reply) => {
    reply.header('content-disposition', `attachment; filename="${request.params.user}.json"`)
    return await userData.export(request.params.user) as never
  })
  fastify.delete('/users/:user/messages', {
    schema: {
      tags: ['users'],
      operationId: 'deleteUserMessages',
      summary: 'Deletes every retained message of the user (tombstones, as delete makes); members get updated',
      security,
      params: UserParams,
      response: { 204: Type.Null(), ...errorResponses(400, 401, 429, 500, 503) }
    }
  }, async (request, reply) => {
    const deleted = await userData.deleteMessages(request.params.user)
    request.log.info({ user: request.params.user, deleted }, 'a user\'s messages deleted')
    return reply.code(204).send(null)
  })
}

export default routes
