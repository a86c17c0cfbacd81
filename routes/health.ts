import type { FastifyPluginAsync } from 'fastify'
import { HttpError } from '../src/schemas/rest.ts'

const Status = { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] } as const

/** Liveness, readiness and metrics: never rate-limited, never behind the admin token. */
const health: FastifyPluginAsync = async (fastify) => {
  const noLimit = { rateLimit: false }

  fastify.get('/healthz', {
    config: noLimit,
    schema: { tags: ['operations'], summary: 'The process is running', response: { 200: Status } }
  }, async () => ({ status: 'ok' }))

  fastify.get('/readyz', {
    config: noLimit,
    schema: { tags: ['operations'], summary: 'Storage (and Redis, if used) answer', response: { 200: Status, 503: HttpError } }
  }, async (_request, reply) => {
    const [store, broker] = await Promise.all([fastify.engine.store.ready(), fastify.engine.broker.ready()])
    if (store && broker) return { status: 'ready' }
    return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: store ? 'broker not ready' : 'storage not ready' })
  })

  fastify.get('/metrics', {
    config: noLimit,
    schema: { tags: ['operations'], summary: 'Prometheus metrics', produces: ['text/plain'] }
  }, async (_request, reply) => {
    const registry = fastify.metricsRegistry
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}

export default health
