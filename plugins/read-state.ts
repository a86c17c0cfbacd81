import fp from 'fastify-plugin'
import { ReadState } from '../src/features/read-state.ts'

declare module 'fastify' {
  interface FastifyInstance { readState: ReadState }
}

/** Read seqs and unread counts: `read`, `unread` and `reads` frames, and their REST calls. */
export default fp(async (fastify) => {
  const readState = new ReadState(fastify.rooms)
  fastify.decorate('readState', readState)
  // Registered after storage, so this runs before the store closes: pending moves are written.
  fastify.addHook('onClose', async () => readState.close())
}, { name: 'read-state', dependencies: ['rooms'] })
