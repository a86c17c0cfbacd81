import fp from 'fastify-plugin'
import { RoomAdmin } from '../src/rooms/room-admin.ts'

declare module 'fastify' {
  interface FastifyInstance { roomAdmin: RoomAdmin }
}

/** Room administration for operators (the /rooms REST routes and the features' routes on rooms). */
export default fp(async (fastify) => {
  fastify.decorate('roomAdmin', new RoomAdmin(fastify.engine, fastify.config.CHAT_HISTORY_LIMIT))
}, { name: 'room-admin', dependencies: ['config', 'storage'] })
