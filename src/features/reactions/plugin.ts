import fp from 'fastify-plugin'
import { Reactions } from './reactions.ts'
import routes from './routes.ts'
import type { ReactFrame } from './schemas.ts'
import { reactionsStorage } from './storage.ts'

/** Reactions: the `react` frame, the reactions on every message, and their REST list. */
export default fp(async (fastify) => {
  const reactions = new Reactions({ hub: fastify.rooms, updates: fastify.messageUpdates, store: fastify.engine.port(reactionsStorage) })
  fastify.frames.handle<ReactFrame>('react', (connection, frame) => reactions.react(connection, frame))
  await fastify.register(routes, { reactions })
}, { name: 'reactions', dependencies: ['rooms', 'messages', 'frames', 'storage', 'admin-auth'] })
