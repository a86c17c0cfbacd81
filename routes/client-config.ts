import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ClientConfig } from '../src/schemas/client-config.ts'
import { errorResponses } from '../src/schemas/rest.ts'

/**
 * GET /client-config: public and read-only, so the chat page can ask for a name (dev mode)
 * or a token (JWT mode) before it connects, and the admin page for the admin token before its
 * first call. It tells nothing a refused upgrade or a 401 would not.
 */
const clientConfig: FastifyPluginAsyncTypebox = async (fastify) => {
  const body: ClientConfig = {
    auth: fastify.config.appAuth ? 'app' : fastify.config.devMode ? 'dev' : 'jwt',
    maxText: fastify.config.CHAT_MAX_TEXT,
    adminToken: fastify.config.CHAT_ADMIN_TOKEN !== undefined
  }
  fastify.get('/client-config', {
    schema: {
      tags: ['clients'],
      operationId: 'clientConfig',
      summary: 'How clients connect: dev mode (?user=) or JWT (?token=)',
      response: { 200: ClientConfig, ...errorResponses(429, 503) }
    }
  }, async () => body)
}

export default clientConfig
