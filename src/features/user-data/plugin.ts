import fp from 'fastify-plugin'
import type { UserData as UserDataService } from './user-data.ts'
import routes from './routes.ts'
import { userMessagesStorage } from './storage.ts'
import { UserData } from './user-data.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** A user's data: features that keep something about a user add their section to the export. */
    userData: UserDataService
  }
}

/** A user's data: GET /users/:user/export and DELETE /users/:user/messages for operators. */
export default fp(async (fastify) => {
  const userData = new UserData({
    store: fastify.engine.port(userMessagesStorage),
    rooms: fastify.engine.store,
    readState: async (user) => (await fastify.readState.unreadOf(user)).map(({ room, readSeq }) => ({ room, readSeq })),
    deleteMessage: (room, seq) => fastify.messageEdits.deleteAs({ admin: true }, room, seq)
  })
  fastify.decorate('userData', userData)
  await fastify.register(routes, { userData })
}, { name: 'user-data', dependencies: ['storage', 'admin-auth', 'read-state', 'message-edits', 'message-schemas'] })
