import fp from 'fastify-plugin'
import { ChatStats } from '../src/shared/chat-stats.ts'

declare module 'fastify' {
  interface FastifyInstance { chatStats: ChatStats }
}

/** The node's counters, bumped where things happen and read by /metrics when scraped. */
export default fp<{ frameTypes: string[] }>(async (fastify, { frameTypes }) => {
  fastify.decorate('chatStats', new ChatStats(frameTypes))
}, { name: 'chat-stats' })
