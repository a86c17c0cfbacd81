import fp from 'fastify-plugin'
import routes from './routes.ts'
import type { SearchFrame } from './schemas.ts'
import { Search } from './search.ts'
import { searchStorage } from './storage.ts'

/** Search: the `search` frame, and a room's search over REST for operators. */
export default fp(async (fastify) => {
  const search = new Search({
    hub: fastify.rooms,
    store: fastify.engine.port(searchStorage),
    roomsRead: async (user) => (await fastify.readState.unreadOf(user)).map((entry) => entry.room)
  })
  fastify.frames.handle<SearchFrame>('search', (connection, frame) => search.frame(connection, frame))
  await fastify.register(routes, { search })
}, { name: 'search', dependencies: ['rooms', 'frames', 'storage', 'admin-auth', 'room-admin', 'read-state', 'message-schemas'] })
