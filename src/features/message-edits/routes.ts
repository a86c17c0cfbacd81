import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { errorResponses, MessageParams, NoContent } from '../../schemas/rest.ts'
import type { MessageEdits } from './message-edits.ts'
import { EditMessageBody } from './schemas.ts'

function messageNotFound (reply: FastifyReply, room: string, seq: number, why: string) {
  return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `message ${seq} of room ${room} ${why}` })
}

/** An operator's edits and deletes of any message (admin token). */
const routes: FastifyPluginAsyncTypebox<{ edits: MessageEdits }> = async (fastify, { edits }) => {
  fastify.addHook('onRequest', fastify.requireAdmin)
  const security = [{ adminToken: [] }]
  const errors = errorResponses(400, 401, 404, 429, 500, 503)

  fastify.patch('/rooms/:id/messages/:seq', {
    schema: {
      tags: ['rooms'],
      operationId: 'editMessage',
      summary: 'Edit any message (operator); members get `updated`',
      security,
      params: MessageParams,
      body: EditMessageBody(fastify.config.CHAT_MAX_TEXT),
      response: { 200: fastify.protocol.message, ...errors, ...errorResponses(413, 415) }
    }
  }, async (request, reply) => {
    const { id, seq } = request.params
    const change = await edits.editAs({ admin: true }, id, seq, request.body.text)
    if (change.outcome !== 'changed') return messageNotFound(reply, id, seq, 'is not retained or was deleted')
    return change.message
  })

  fastify.delete('/rooms/:id/messages/:seq', {
    schema: {
      tags: ['rooms'],
      operationId: 'deleteMessage',
      summary: 'Delete any message (operator): it becomes a tombstone that keeps its seq; members get `updated`',
      description: 'Deleting a deleted message changes nothing and answers 204 again.',
      security,
      params: MessageParams,
      response: { 204: NoContent('deleted'), ...errors }
    }
  }, async (request, reply) => {
    const { id, seq } = request.params
    const change = await edits.deleteAs({ admin: true }, id, seq)
    if (change.outcome === 'not_found' || change.outcome === 'forbidden') return messageNotFound(reply, id, seq, 'is not retained')
    return reply.code(204).send(null)
  })
}

export default routes
