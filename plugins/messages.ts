import fp from 'fastify-plugin'
import { MessageUpdates } from '../src/hub/message-updates.ts'
import { MessageService } from '../src/hub/messages.ts'
import type { HistoryFrame, MessageFrame } from '../src/schemas/frames.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Sending and history, which features extend (composers, text fields, history sources, listeners). */
    messages: MessageService
    /** How features that change a stored message have members told (`updated`, coalesced or not). */
    messageUpdates: MessageUpdates
  }
}

/** Messages: the `message` and `history` frames, REST posts and reads, and changes of stored messages. */
export default fp(async (fastify) => {
  const messages = new MessageService(fastify.rooms, fastify.engine)
  const updates = new MessageUpdates(fastify.engine.store, fastify.log)
  fastify.decorate('messages', messages)
  fastify.decorate('messageUpdates', updates)
  fastify.frames.handle<MessageFrame>('message', (connection, frame) => messages.send(connection, frame))
  fastify.frames.handle<HistoryFrame>('history', (connection, frame) => messages.historyFrame(connection, frame))
  // Registered after storage, so this runs before the store closes: waiting updates go out.
  fastify.addHook('onClose', async () => updates.close())
}, { name: 'messages', dependencies: ['rooms', 'storage', 'frames'] })
