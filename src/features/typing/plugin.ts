import fp from 'fastify-plugin'
import { TypingEvent, type TypingFrame } from './schemas.ts'
import { typingStorage } from './storage.ts'
import { TypingIndicators } from './typing.ts'

/** Typing indicators: `typing` frames in, a `typing` frame to the room whenever its set changes. */
export default fp(async (fastify) => {
  const hub = fastify.rooms
  const typing = new TypingIndicators(hub, fastify.engine.port(typingStorage))
  fastify.frames.handle<TypingFrame>('typing', (connection, frame) => typing.handle(connection, frame))
  hub.onFeatureEvent<TypingEvent>('typing', TypingEvent, (room, { users }) => {
    typing.seen(room, users)
    fastify.broadcast(room, { type: 'typing', room, users })
  })
  hub.on('event', (event) => {
    if (event.kind === 'room_deleted') typing.forget(event.room)
  })
  fastify.messages.on('sent', (connection, message) => typing.stopIfTyping(message.room, connection.user))
  hub.on('left', (room, user) => typing.stopIfTyping(room, user))
  fastify.addHook('onClose', async () => typing.close())
}, { name: 'typing', dependencies: ['rooms', 'messages', 'frames', 'storage'] })
