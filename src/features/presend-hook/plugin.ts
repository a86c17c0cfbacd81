import fp from 'fastify-plugin'
import { Counter, Histogram } from 'prom-client'
import { PresendHook } from './presend-hook.ts'

/**
 * The pre-send hook (CHAT_PRESEND_URL): each user's message and edit is sent there, signed,
 * before it is stored, and stored as it is, replaced or refused as the answer says. A message
 * waiting for its answer holds only the messages sent after it by the same connection to the
 * same room (MessageService's lanes).
 */
export default fp(async (fastify) => {
  const config = fastify.config
  if (config.CHAT_PRESEND_URL === undefined) return
  const checks = new Counter({
    name: 'chat_presend_checks_total',
    help: 'Texts checked by the pre-send hook, by outcome: allowed, replaced, rejected, failed_open (no valid answer: stored), failed_closed (no valid answer: refused)',
    labelNames: ['outcome'],
    registers: [fastify.metricsRegistry]
  })
  const latency = new Histogram({
    name: 'chat_presend_seconds',
    help: 'Time from asking the pre-send hook to its answer or to giving up',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [fastify.metricsRegistry]
  })
  const hook = new PresendHook({
    url: config.CHAT_PRESEND_URL,
    secret: config.CHAT_WEBHOOK_SECRET!,
    timeoutMs: config.CHAT_PRESEND_TIMEOUT_MS,
    failClosed: config.CHAT_PRESEND_FAIL === 'closed',
    maxText: config.CHAT_MAX_TEXT,
    log: fastify.log,
    record: (outcome, seconds) => {
      checks.inc({ outcome })
      latency.observe(seconds)
    }
  })
  fastify.messages.checkText((input) => hook.check(input))
  fastify.addHook('onClose', async () => hook.close())
}, { name: 'presend-hook', dependencies: ['messages', 'metrics'] })
