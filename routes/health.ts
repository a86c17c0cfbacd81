import type { FastifyPluginAsync } from 'fastify'
import Type from 'typebox'
import { errorResponses, httpError } from '../src/schemas/rest.ts'

const Status = Type.Object({ status: Type.String() })
const shuttingDown = errorResponses(503)

/** Liveness, readiness and metrics: never rate-limited, never behind the admin token. */
const health: FastifyPluginAsync = async (fastify) => {
  const noLimit = { rateLimit: false }

  fastify.get('/healthz', {
    config: noLimit,
    schema: {
      tags: ['operations'],
      operationId: 'healthz',
      summary: 'The process is running',
      response: { 200: Status, ...shuttingDown }
    }
  }, async () => ({ status: 'ok' }))

  fastify.get('/readyz', {
    config: noLimit,
    schema: {
      tags: ['operations'],
      operationId: 'readyz',
      summary: 'Storage (and Redis, if used) answer',
      response: { 200: Status, 503: httpError('Storage or Redis does not answer, or the server is shutting down') }
    }
  }, async (_request, reply) => {
    const [store, broker] = await Promise.all([fastify.engine.store.ready(), fastify.engine.broker.ready()])
    if (store && broker) return { status: 'ready' }
    return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: store ? 'broker not ready' : 'storage not ready' })
  })

  fastify.get('/metrics', {
    config: noLimit,
    schema: {
      tags: ['operations'],
      operationId: 'metrics',
      summary: 'Prometheus metrics of this node (text exposition format 0.0.4)',
      response: {
        200: {
          description: 'Every chat_ family, process and Node.js metrics; see docs/operations.md',
          content: { 'text/plain': { schema: { type: 'string' } } }
        },
        ...shuttingDown
      }
    }
  }, async (_request, reply) => {
    const registry = fastify.metricsRegistry
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}

export default health
