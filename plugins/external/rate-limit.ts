import fastifyRateLimit from '@fastify/rate-limit'
import fp from 'fastify-plugin'
import { redactUrl } from '../../src/logger.ts'

/**
 * Per-IP limit on REST calls and WebSocket upgrades (CHAT_RATE_LIMIT a minute; 0 = off).
 * Registered before every route, as it works through onRoute. Health, readiness and
 * metrics opt out so probes and scrapers are never throttled.
 * @see https://github.com/fastify/fastify-rate-limit
 */
export default fp(async (fastify) => {
  const max = fastify.config.CHAT_RATE_LIMIT
  if (max === 0) return
  await fastify.register(fastifyRateLimit, {
    global: true,
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
}, { name: 'rate-limit', dependencies: ['config', 'chat-stats'] })
