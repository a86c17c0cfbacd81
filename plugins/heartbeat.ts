import fp from 'fastify-plugin'

declare module 'fastify' {
  interface FastifyInstance { heartbeat: { sweep: () => void } }
}

/**
 * Pings every connection each CHAT_HEARTBEAT_MS. A connection that has not answered the
 * previous ping is terminated, which ends it through the usual close path (registry,
 * rooms, presence), so a peer is gone within two intervals of its last pong.
 */
export default fp(async (fastify) => {
  const registry = fastify.connectionRegistry
  const stats = fastify.chatStats
  function sweep (): void {
    for (const connection of registry) {
      if (!connection.alive) {
        stats.heartbeatTimeouts++
        connection.log.info('no pong within a heartbeat interval; terminating')
        connection.socket.terminate()
        void fastify.rooms.disconnect(connection)
        continue
      }
      connection.alive = false
      connection.socket.ping()
    }
  }
  const timer = setInterval(sweep, fastify.config.CHAT_HEARTBEAT_MS).unref()
  fastify.decorate('heartbeat', { sweep })
  fastify.addHook('onClose', async () => clearInterval(timer))
}, { name: 'heartbeat', dependencies: ['config', 'chat-stats', 'connection-registry', 'rooms'] })
