import fp from 'fastify-plugin'
import { Replies } from './replies.ts'
import type { ReplyMessage } from './schemas.ts'
import { repliesStorage } from './storage.ts'
import { EFFECT } from './store.ts'

/**
 * Replies: `replyTo` on messages (WebSocket and REST), `thread` on history (WebSocket and
 * REST), and the root's `thread` kept up to date; members get the root in `updated`,
 * coalesced per root as reactions are.
 */
export default fp(async (fastify) => {
  const updates = fastify.messageUpdates
  const replies = new Replies({ messages: fastify.engine.store, store: fastify.engine.port(repliesStorage) })
  fastify.messages.compose(replies.compose)
  fastify.messages.historySource(replies.history)
  // A reply stored: its root's thread changed in the same step.
  fastify.messages.on('stored', (message, effects) => {
    const root = effects[EFFECT]
    if (root !== undefined) updates.changed(message.room, Number(root))
  })
  // A reply deleted (by anyone, through any feature): its root's thread changed in that step.
  updates.onChange((message: ReplyMessage & { deleted?: true }) => {
    if (message.replyTo !== undefined && message.deleted === true) updates.changed(message.room, message.replyTo)
  })
}, { name: 'replies', dependencies: ['messages', 'storage'] })
