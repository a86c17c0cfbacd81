import fp from 'fastify-plugin'
import { UrlDelivery } from '../src/webhooks/delivery.ts'

/**
 * Events out: one delivery worker per CHAT_WEBHOOK_URLS entry, reading the engine's outbox.
 * Without URLs nothing runs (and the engine records nothing); the parked list stays readable.
 * Closed before the engine (onClose hooks run in reverse order), so deliveries under way are
 * recorded before storage closes.
 */
export default fp(async (fastify) => {
  const config = fastify.config.webhooks
  if (config === undefined) return
  const store = fastify.engine.webhooks
  // A URL no longer configured must not hold back trimming of what the others have delivered.
  await store.forgetOthers(config.urls)
  const deliveries = config.urls.map((url) => new UrlDelivery(store, {
    url, secret: config.secret, maxAttempts: config.maxAttempts, log: fastify.log, stats: fastify.chatStats
  }))
  fastify.addHook('onClose', async () => {
    await Promise.all(deliveries.map((delivery) => delivery.close()))
  })
}, { name: 'webhooks', dependencies: ['config', 'chat-stats', 'storage'] })
