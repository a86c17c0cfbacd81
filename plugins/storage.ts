import fp from 'fastify-plugin'
import { createEngine } from '../src/engine/create-engine.ts'
import type { EngineLog } from '../src/engine/redis/engine.ts'
import type { ChatEngine } from '../src/engine/types.ts'
import type { ChatStats } from '../src/shared/chat-stats.ts'

declare module 'fastify' {
  interface FastifyInstance { engine: ChatEngine }
}

/** The storage and fan-out engine: SQLite locally, Redis when REDIS_URL is set. */
export default fp(async (fastify) => {
  const engine = await createEngine(fastify.config, countingErrors(fastify.log, fastify.chatStats))
  fastify.decorate('engine', engine)
  fastify.addHook('onClose', async () => {
    await engine.broker.close()
    await engine.store.close()
  })
}, { name: 'storage', dependencies: ['config', 'chat-stats'] })

/**
 * The engine's log, counting every error it reports (only the Redis engine logs): its
 * connections, publishes and heartbeats fail outside any request, so the log is where they surface.
 */
function countingErrors (log: EngineLog, stats: ChatStats): EngineLog {
  return {
    error (obj, msg) {
      stats.redisErrors++
      log.error(obj, msg)
    },
    warn: (obj, msg) => log.warn(obj, msg),
    info: (obj, msg) => log.info(obj, msg),
    debug: (obj, msg) => log.debug(obj, msg)
  }
}
