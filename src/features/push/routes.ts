import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '../../schemas/rest.ts'
import { PushKey } from './schemas.ts'

/** GET /push/key: the VAPID public key a page subscribes with (no token: it is public); 404 without Web Push. */
const routes: FastifyPluginAsyncTypebox<{ publicKey: string | undefined }> = async (fastify, { publicKey }) => {
  fastify.get('/push/key', {
    schema: {
      tags: ['push'],
      operationId: 'getPushKey',
      summary: 'The VAPID public key for PushManager.subscribe; 404 when Web Push is not configured',
      response: { 200: PushKey, ...errorResponses(404, 429, 500, 503) }
    }
  }, async (_request, reply) => {
    if (publicKey === undefined) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'Web Push is not configured (CHAT_VAPID_PUBLIC_KEY, CHAT_VAPID_PRIVATE_KEY, CHAT_VAPID_SUBJECT)' })
    return { key: publicKey }
  })
}

export default routes
