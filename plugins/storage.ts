import fp from 'fastify-plugin'
import { createEngine } from '../src/engine/create-engine.ts'
import type { ChatEngine } from '../src/engine/types.ts'

declare module 'fastify' {
  interface FastifyInstance { engine: ChatEngine }
}

/** The storage and fan-out engine: SQLite locally, Redis when REDIS_URL is set. */
export default fp(async (fastify) => {
  const engine = await createEngine(fastify.config, fastify.log)
  fastify.decorate('engine', engine)
  fastify.addHook('onClose', async () => {
    await engine.broker.close()
    await engine.store.close()
  })
}, { name: 'storage', dependencies: ['config'] })
