import fp from 'fastify-plugin'
import { MessageEdits } from '../src/features/message-edits.ts'

declare module 'fastify' {
  interface FastifyInstance { messageEdits: MessageEdits }
}

/** Edits and deletes of messages: `edit` and `delete` frames, and the operator's REST calls. */
export default fp(async (fastify) => {
  fastify.decorate('messageEdits', new MessageEdits(fastify.rooms))
}, { name: 'message-edits', dependencies: ['rooms'] })
