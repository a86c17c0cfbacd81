import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook for operator routes: with CHAT_ADMIN_TOKEN set, demands it as a bearer token. */
    requireAdmin: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * The operator API's bearer token. Both sides are hashed first so the comparison takes the
 * same time whatever the length or content of the guess.
 */
export default fp(async (fastify) => {
  const token = fastify.config.CHAT_ADMIN_TOKEN
  const expected = token === undefined ? undefined : digest(token)
  if (expected === undefined) fastify.log.warn('CHAT_ADMIN_TOKEN is not set: the operators\' REST API (/rooms, /users, /webhooks) is open to anyone who can reach it')

  fastify.decorate('requireAdmin', async (request: FastifyRequest, reply: FastifyReply) => {
    if (expected === undefined) return
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')
    if (match !== null && timingSafeEqual(digest(match[1]!), expected)) return
    fastify.chatStats.authFailures++
    request.log.warn({ ip: request.ip, tokenGiven: match !== null }, 'admin API refused: wrong or missing admin token')
    return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'the admin API needs Authorization: Bearer <CHAT_ADMIN_TOKEN>' })
  })
}, { name: 'admin-auth', dependencies: ['config', 'chat-stats'] })
