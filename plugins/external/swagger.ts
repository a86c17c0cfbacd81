import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'

/**
 * The OpenAPI document, generated from the routes' TypeBox schemas, at /docs/json, and
 * its UI at /docs.
 * @see https://github.com/fastify/fastify-swagger
 */
export default fp(async (fastify) => {
  await fastify.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Chat service',
        description: 'Room administration over REST. The WebSocket protocol at GET /ws is described in docs/protocol.md.',
        version: '0.1.0'
      },
      components: {
        securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'CHAT_ADMIN_TOKEN, when set' } }
      },
      tags: [{ name: 'rooms' }, { name: 'users' }, { name: 'operations' }]
    }
  })
  await fastify.register(fastifySwaggerUi, { routePrefix: '/docs' })
}, { name: 'swagger' })
