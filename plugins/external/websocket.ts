import fastifyWebsocket from '@fastify/websocket'
import fp from 'fastify-plugin'
import { closeAll } from '../../src/hub/shutdown.ts'

/**
 * @fastify/websocket with the limits of the contract: inbound frames over CHAT_MAX_PAYLOAD
 * close with 1009 (ws defaults to 100 MiB), no compression (it costs CPU per member and
 * opens compression-oracle attacks), and a shutdown that sends 1001 to every client.
 * @see https://github.com/fastify/fastify-websocket
 */
export default fp(async (fastify) => {
  const closeClients = () => closeAll(fastify.connectionRegistry, fastify.rooms, Math.max(100, fastify.config.CHAT_SHUTDOWN_MS / 2))
  if (fastify.hasDecorator('websocketServer')) {
    // Embedded in an app that registered @fastify/websocket already: a second one would route
    // every upgrade twice. Its server serves the service's route too; the frame size limit is
    // then checked per frame (routes/ws), and the shutdown is a hook of the service's own.
    fastify.log.debug('using the app\'s @fastify/websocket')
    fastify.addHook('preClose', closeClients)
    return
  }
  await fastify.register(fastifyWebsocket, {
    options: {
      maxPayload: fastify.config.CHAT_MAX_PAYLOAD,
      perMessageDeflate: false,
      // The connection registry tracks clients; a second Set in ws would cost memory per connection.
      clientTracking: false
    },
    // ws closes the socket itself on protocol errors (1007, 1009) after sending the close
    // frame; terminating here, as the default handler does, could cut that frame off.
    errorHandler (error, _socket, request) {
      request.log.debug({ err: error }, 'websocket error')
    },
    // Half the shutdown grace goes to closing handshakes, the rest to flushing storage.
    async preClose () {
      await closeClients()
    }
  })
}, { name: 'websocket', dependencies: ['config', 'rooms', 'connection-registry'] })
