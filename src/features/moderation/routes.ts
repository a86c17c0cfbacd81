import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { roomNotFound } from '../../rooms/http-replies.ts'
import { errorResponses, GrantParams, RoomParams } from '../../schemas/rest.ts'
import type { Moderation } from './moderation.ts'
import { Sanction, SanctionBody, type SanctionKind } from './schemas.ts'

/** Bans and mutes over REST (admin token): `/rooms/:id/bans` and `/rooms/:id/mutes`. */
const routes: FastifyPluginAsyncTypebox<{ moderation: Moderation }> = async (fastify, { moderation }) => {
  fastify.addHook('onRequest', fastify.requireAdmin)
  const security = [{ adminToken: [] }]
  const kinds: [SanctionKind, string, string][] = [['ban', 'bans', 'Bans'], ['mute', 'mutes', 'Mutes']]
  for (const [kind, path, title] of kinds) {
    fastify.put(`/rooms/:id/${path}/:user`, {
      schema: {
        tags: ['rooms'],
        operationId: `set${title.slice(0, -1)}`,
        summary: kind === 'ban'
          ? 'Bans the user from the room for durationMs (absent: until lifted); its connections there are kicked'
          : 'Mutes the user in the room for durationMs (absent: until lifted): its messages, reactions and typing are refused',
        security,
        params: GrantParams,
        body: SanctionBody,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 404, 413, 415, 429, 500, 503) }
      }
    }, async (request, reply) => {
      const { id, user } = request.params
      const done = await moderation.sanction({ room: id, user, kind, durationMs: request.body.durationMs, reason: request.body.reason })
      if (!done) return roomNotFound(reply, id)
      return reply.code(204).send(null)
    })

    fastify.delete(`/rooms/:id/${path}/:user`, {
      schema: {
        tags: ['rooms'],
        operationId: `remove${title.slice(0, -1)}`,
        summary: `Lifts the user's ${kind}`,
        security,
        params: GrantParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 404, 429, 500, 503) }
      }
    }, async (request, reply) => {
      const { id, user } = request.params
      if (!await moderation.lift(id, user, kind)) return roomNotFound(reply, id)
      return reply.code(204).send(null)
    })

    fastify.get(`/rooms/:id/${path}`, {
      schema: {
        tags: ['rooms'],
        operationId: `get${title}`,
        summary: `The room's ${path} in force (ended ones are not listed)`,
        security,
        params: RoomParams,
        response: {
          200: Type.Object({ [path]: Type.Array(Sanction, { description: 'by user id' }) }),
          ...errorResponses(400, 401, 404, 429, 500, 503)
        }
      }
    }, async (request, reply) => {
      const { id } = request.params
      if (!await fastify.roomAdmin.exists(id)) return roomNotFound(reply, id)
      return { [path]: await moderation.list(id, kind) }
    })
  }
}

export default routes
