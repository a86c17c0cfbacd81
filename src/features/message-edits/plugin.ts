import fp from 'fastify-plugin'
import { MessageEdits } from './message-edits.ts'
import routes from './routes.ts'
import type { DeleteFrame, EditFrame } from './schemas.ts'
import { editsStorage } from './storage.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Edits and deletes, for features that change messages as an operator (a report resolved by deleting). */
    messageEdits: MessageEdits
  }
}

/** Edits and deletes: the `edit` and `delete` frames, and the operator's REST calls. */
export default fp(async (fastify) => {
  const edits = new MessageEdits({
    hub: fastify.rooms, messages: fastify.messages, updates: fastify.messageUpdates, store: fastify.engine.port(editsStorage)
  })
  fastify.decorate('messageEdits', edits)
  fastify.frames.handle<EditFrame>('edit', (connection, frame) => edits.edit(connection, frame))
  fastify.frames.handle<DeleteFrame>('delete', (connection, frame) => edits.delete(connection, frame))
  await fastify.register(routes, { edits })
}, { name: 'message-edits', dependencies: ['rooms', 'messages', 'frames', 'storage', 'message-schemas', 'admin-auth'] })
