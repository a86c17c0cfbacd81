import fp from 'fastify-plugin'
import { mentionsOf } from './mentions.ts'
import { mentionsStorage } from './storage.ts'

/**
 * Mentions: every message's text (new or edited) gives it its `mentions`, and each entry of
 * the `unread` answer (WebSocket and REST) counts the messages after the read seq that mention
 * the user.
 */
export default fp(async (fastify) => {
  const store = fastify.engine.port(mentionsStorage)
  fastify.messages.deriveFromText((text) => ({ mentions: mentionsOf(text) }))
  fastify.readState.onUnread(async (user, rooms) => {
    const counts = await store.counts(user, rooms.map((entry) => ({ room: entry.room, after: entry.readSeq })))
    rooms.forEach((entry, i) => { entry.mentions = counts[i] })
  })
}, { name: 'mentions', dependencies: ['messages', 'read-state', 'storage'] })
