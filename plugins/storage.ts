import fp from 'fastify-plugin'
import { createEngine } from '../src/engine/create-engine.ts'
import type { StorageExtension } from '../src/engine/extension.ts'
import type { ChatEngine } from '../src/engine/types.ts'
import type { ChatStats } from '../src/shared/chat-stats.ts'
import type { EngineLog } from '../src/shared/log.ts'

declare module 'fastify' {
  interface FastifyInstance { engine: ChatEngine }
}

/** The storage and fan-out engine: SQLite locally, Redis when REDIS_URL is set, with every feature's storage on it. */
export default fp<{ extensions: StorageExtension[] }>(async (fastify, { extensions }) => {
  const engine = await createEngine(fastify.config, { log: countingErrors(fastify.log, fastify.chatStats), extensions })
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
