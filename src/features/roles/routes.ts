import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { roomNotFound } from '../../rooms/http-replies.ts'
import { errorResponses, GrantParams, RoomParams } from '../../schemas/rest.ts'
import { RoleBody, UserRole } from './schemas.ts'
import type { RolesStore } from './store.ts'

const RoomUserParams = GrantParams

/** Room roles over REST (admin token): give, take away and list. */
const routes: FastifyPluginAsyncTypebox<{ store: RolesStore }> = async (fastify, { store }) => {
  fastify.addHook('onRequest', fastify.requireAdmin)
  const security = [{ adminToken: [] }]

  fastify.put('/rooms/:id/roles/:user', {
    schema: {
      tags: ['rooms'],
      operationId: 'setRole',
      summary: 'Gives the user a role in the room (owner or moderator), replacing any it had',
      security,
      params: RoomUserParams,
      body: RoleBody,
      response: { 204: Type.Null(), ...errorResponses(400, 401, 404, 413, 415, 429, 500, 503) }
    }
  }, async (request, reply) => {
    const { id, user } = request.params
    if (!await store.setRole(id, user, request.body.role)) return roomNotFound(reply, id)
    return reply.code(204).send(null)
  })

  fastify.delete('/rooms/:id/roles/:user', {
    schema: {
      tags: ['rooms'],
      operationId: 'removeRole',
      summary: "Takes the user's role in the room away",
      security,
      params: RoomUserParams,
      response: { 204: Type.Null(), ...errorResponses(400, 401, 404, 429, 500, 503) }
    }
  }, async (request, reply) => {
    const { id, user } = request.params
    if (!await fastify.roomAdmin.exists(id)) return roomNotFound(reply, id)
    await store.removeRole(id, user)
    return reply.code(204).send(null)
  })

  fastify.get('/rooms/:id/roles', {
    schema: {
      tags: ['rooms'],
      operationId: 'getRoles',
      summary: "The room's roles",
      security,
      params: RoomParams,
      response: {
        200: Type.Object({ roles: Type.Array(UserRole, { description: 'every user with a role in the room, by user id' }) }),
        ...errorResponses(400, 401, 404, 429, 500, 503)
      }
    }
  }, async (request, reply) => {
    const { id } = request.params
    if (!await fastify.roomAdmin.exists(id)) return roomNotFound(reply, id)
    return { roles: await store.roles(id) }
  })
}

export default routes
