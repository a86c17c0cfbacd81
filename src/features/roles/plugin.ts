import fp from 'fastify-plugin'
import routes from './routes.ts'
import { rolesStorage } from './storage.ts'

/**
 * Room roles: owners and moderators per room (REST), and moderators of every room by their
 * token's `roles` claim. The hub asks this feature for a connection's role whenever a power is
 * used, so a role given or taken away applies at the next frame; `joined` carries it.
 */
export default fp(async (fastify) => {
  const store = fastify.engine.port(rolesStorage)
  const hub = fastify.rooms
  hub.powers.roleSource(async (connection, room) => await store.roleOf(room, connection.user) ?? (connection.moderator ? 'moderator' : undefined))
  hub.on('joining', async (connection, room) => {
    const role = await hub.powers.roleOf(connection, room)
    return role === undefined ? {} : { role }
  })
  fastify.userData.section('roles', (user) => store.rolesOf(user))
  await fastify.register(routes, { store })
}, { name: 'roles', dependencies: ['rooms', 'storage', 'admin-auth', 'room-admin', 'user-data'] })
