import fastifyRateLimit from '@fastify/rate-limit'
import fp from 'fastify-plugin'
import { redactUrl } from '../../src/logger.ts'

/**
 * Per-IP limit on REST calls and WebSocket upgrades (CHAT_RATE_LIMIT a minute; 0 = off).
 * It runs as the root's first onRequest hook rather than the plugin's per-route hook, which
 * would run after the routes' own hooks: a refused admin token or JWT must count against the
 * limit too, or guessing them would be free. Routes with `config.rateLimit: false` (health,
 * readiness, metrics) opt out so probes and scrapers are never throttled.
 * @see https://github.com/fastify/fastify-rate-limit
 */
export default fp(async (fastify) => {
  const max = fastify.config.CHAT_RATE_LIMIT
  if (max === 0) return
  await fastify.register(fastifyRateLimit, {
    global: false,
    max,
    timeWindow: 60_000,
    addHeadersOnExceeding: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true },
    onExceeded (request) {
      fastify.chatStats.requestsRateLimited++
      // Upgrades in dev mode name their user; otherwise who is calling is not known yet.
      const user = fastify.config.devMode ? (request.query as { user?: unknown } | undefined)?.user : undefined
      request.log.warn({
        ip: request.ip, user: typeof user === 'string' ? user : undefined, method: request.method, url: redactUrl(request.url)
      }, 'rate limit exceeded: answered 429')
    },
    errorResponseBuilder (_request, context) {
      return {
        statusCode: 429,
        error: 'Too Many Requests',
        message: `rate limit exceeded: ${context.max} requests a minute; retry in ${context.after}`
      }
    }
  })
  const limit = fastify.rateLimit()
  fastify.addHook('onRequest', async function (request, reply) {
    if (request.routeOptions.config.rateLimit === false) return
    return limit.call(this, request, reply)
  })
}, { name: 'rate-limit', dependencies: ['config', 'chat-stats'] })
