import fp from 'fastify-plugin'
import { TypingIndicators } from '../src/features/typing.ts'

declare module 'fastify' {
  interface FastifyInstance { typing: TypingIndicators }
}

/** Typing indicators: `typing` frames in, a `typing` frame to the room whenever its set changes. */
export default fp(async (fastify) => {
  const typing = new TypingIndicators(fastify.rooms)
  fastify.decorate('typing', typing)
  fastify.addHook('onClose', async () => typing.close())
}, { name: 'typing', dependencies: ['rooms'] })
