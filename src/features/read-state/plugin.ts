import fp from 'fastify-plugin'
import { ReadState } from './read-state.ts'
import routes from './routes.ts'
import { ReadEvent, type ReadFrame, type ReadsFrame, type UnreadFrame } from './schemas.ts'
import { readStorage } from './storage.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Read state, which other features extend (unread entries' fields). */
    readState: ReadState
  }
}

/** Read seqs and unread counts: `read`, `unread` and `reads` frames, and their REST calls. */
export default fp(async (fastify) => {
  const hub = fastify.rooms
  const readState = new ReadState({ hub, messages: fastify.messages, store: fastify.engine.port(readStorage), rooms: fastify.engine.store })
  fastify.decorate('readState', readState)
  fastify.frames.handle<ReadFrame>('read', (connection, frame) => readState.read(connection, frame))
  fastify.frames.handle<UnreadFrame>('unread', (connection, frame) => readState.unread(connection, frame))
  fastify.frames.handle<ReadsFrame>('reads', (connection, frame) => readState.reads(connection, frame))
  hub.onFeatureEvent<ReadEvent>('read', ReadEvent, (room, { user, seq }) => fastify.broadcast(room, { type: 'read', room, user, seq }))
  await fastify.register(routes, { readState })
  // Registered after storage, so this runs before the store closes: pending moves are written.
  fastify.addHook('onClose', async () => readState.close())
}, { name: 'read-state', dependencies: ['rooms', 'messages', 'frames', 'storage', 'message-schemas', 'admin-auth', 'room-admin'] })
