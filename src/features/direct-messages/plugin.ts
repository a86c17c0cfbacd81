import fp from 'fastify-plugin'
import { DirectMessages } from './direct-messages.ts'
import routes from './routes.ts'
import type { OpenDmFrame, RoomsFrame } from './schemas.ts'
import { dmStorage } from './storage.ts'

/** Direct messages (`open_dm`, `POST /dms`) and the user's rooms list (`rooms`, `GET /users/:user/rooms`). */
export default fp(async (fastify) => {
  const dms = new DirectMessages({
    hub: fastify.rooms,
    roomAdmin: fastify.roomAdmin,
    rooms: fastify.engine.store,
    readState: fastify.readState,
    store: fastify.engine.port(dmStorage)
  })
  fastify.frames.handle<OpenDmFrame>('open_dm', (connection, frame) => dms.openFrame(connection, frame))
  fastify.frames.handle<RoomsFrame>('rooms', (connection, frame) => dms.roomsFrame(connection, frame))
  await fastify.register(routes, { dms })
}, { name: 'direct-messages', dependencies: ['rooms', 'frames', 'storage', 'admin-auth', 'room-admin', 'read-state', 'mentions', 'message-schemas'] })
