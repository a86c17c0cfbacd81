import fp from 'fastify-plugin'
import { ConnectionRegistry } from '../src/hub/connection-registry.ts'

declare module 'fastify' {
  interface FastifyInstance { connectionRegistry: ConnectionRegistry }
}

/** Every open WebSocket connection of this process. */
export default fp(async (fastify) => {
  fastify.decorate('connectionRegistry', new ConnectionRegistry())
}, { name: 'connection-registry' })
