import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'

/**
 * The OpenAPI document, generated from the routes' TypeBox schemas, at /docs/json, and
 * its UI at /docs (under the plugin's prefix when mounted in another app).
 * @see https://github.com/fastify/fastify-swagger
 */
export default fp(async (fastify) => {
  await fastify.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      // Mounted under a prefix by the plugin: paths stay as documented, the server URL has the prefix.
      ...(fastify.prefix === '' ? {} : { servers: [{ url: fastify.prefix }] }),
      info: {
        title: 'Chat service',
        description: 'Room administration over REST, health and metrics. The WebSocket protocol at `GET /ws` is ' +
          'described by the [AsyncAPI document](/docs/asyncapi.json) and in docs/protocol.md. With CHAT_ADMIN_TOKEN set, ' +
          'every /rooms, /users and /webhooks call needs `Authorization: Bearer <token>`; errors have the body `{statusCode, error, message}`.',
        version: '0.1.0'
      },
      components: {
        securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'CHAT_ADMIN_TOKEN, when set' } }
      },
      tags: [{ name: 'rooms' }, { name: 'users' }, { name: 'webhooks' }, { name: 'moderation' }, { name: 'operations' }, { name: 'clients' }]
    }
  })
  await fastify.register(fastifySwaggerUi, { routePrefix: '/docs' })
}, { name: 'swagger' })
