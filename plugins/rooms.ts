import fp from 'fastify-plugin'
import { ChatHub } from '../src/hub/chat-hub.ts'
import type { JoinFrame, LeaveFrame, ServerFrame } from '../src/schemas/frames.ts'

declare module 'fastify' {
  interface FastifyInstance {
    rooms: ChatHub
    /** Sends a frame to every member of the room on this node, serialized and framed once. */
    broadcast: (room: string, frame: ServerFrame) => void
  }
}

/** Membership, presence, private rooms and fan-out, over the engine: `join` and `leave`. */
export default fp(async (fastify) => {
  const hub = new ChatHub({
    engine: fastify.engine,
    registry: fastify.connectionRegistry,
    log: fastify.log,
    autoCreateRooms: fastify.config.CHAT_AUTO_CREATE_ROOMS,
    maxRoomsPerConnection: fastify.config.CHAT_MAX_ROOMS_PER_CONNECTION,
    stats: fastify.chatStats
  })
  fastify.decorate('rooms', hub)
  fastify.decorate('broadcast', (room: string, frame: ServerFrame) => hub.broadcast(room, frame))
  fastify.frames.handle<JoinFrame>('join', (connection, frame) => hub.join(connection, frame))
  fastify.frames.handle<LeaveFrame>('leave', (connection, frame) => hub.leave(connection, frame))
}, { name: 'rooms', dependencies: ['config', 'chat-stats', 'storage', 'connection-registry', 'frames'] })
