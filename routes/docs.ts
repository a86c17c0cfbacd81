import type { FastifyPluginAsync } from 'fastify'
import Type from 'typebox'
import { asyncApiDocument } from '../src/protocol/asyncapi.ts'
import { errorResponses } from '../src/schemas/rest.ts'

/** The AsyncAPI document of GET /ws, beside the OpenAPI UI and document that @fastify/swagger-ui serves under /docs. */
const docs: FastifyPluginAsync = async (fastify) => {
  // Made once: it depends only on the frame schemas, and the prefix the service is mounted under.
  const body = JSON.stringify(asyncApiDocument('0.1.0', fastify.protocol, fastify.prefix))

  fastify.get('/docs/asyncapi.json', {
    schema: {
      tags: ['operations'],
      operationId: 'asyncapi',
      summary: 'The AsyncAPI 3.0 document of the WebSocket protocol at GET /ws',
      response: {
        200: Type.Object({ asyncapi: Type.Literal('3.0.0') }, { additionalProperties: true, description: 'One message per client and server frame, from the schemas that validate frames' }),
        ...errorResponses(429, 503)
      }
    }
  }, async (_request, reply) => reply.type('application/json; charset=utf-8').send(body))
}

export default docs
