import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import Type from 'typebox'
import { Refused } from '../../src/engine/extension.ts'
import { refusedReply, roomNotFound } from '../../src/rooms/http-replies.ts'
import { LIMIT_DEFAULT } from '../../src/schemas/common.ts'
import { postMessageBody } from '../../src/schemas/post-message.ts'
import {
  CreateRoomBody, errorResponses, GrantParams, ListRoomsQuery, MessagesQuery, NoContent, OnlineList, PatchRoomBody, Room, RoomList, RoomParams
} from '../../src/schemas/rest.ts'

const notFound = roomNotFound

/** What every room call may answer besides its own outcomes; calls with a body add 413 and 415. */
const errors = errorResponses(400, 401, 404, 429, 500, 503)
const bodyErrors = errorResponses(413, 415)

/**
 * Room administration for operators, thin: rooms through the room admin, messages through the
 * message service (which features extend: fields of a posted message, history queries), never
 * storage directly.
 */
const rooms: FastifyPluginAsyncTypebox = async (fastify) => {
  const admin = fastify.roomAdmin
  const messages = fastify.messages
  const { protocol } = fastify
  const Message = protocol.message

  fastify.addHook('onRequest', fastify.requireAdmin)
  const security = [{ adminToken: [] }]

  fastify.post('/rooms', {
    schema: {
      tags: ['rooms'],
      operationId: 'createRoom',
      summary: 'Create a room',
      security,
      body: CreateRoomBody,
      response: { 201: Room, ...errorResponses(400, 401, 409, 413, 415, 429, 500, 503) }
    }
  }, async (request, reply) => {
    if ((request.body.historyLimit === 0 || request.body.retentionDays !== undefined) && !fastify.engine.unboundedHistory) return unboundedRefused(reply)
    const room = await admin.create(request.body)
    if (room === undefined) {
      return reply.code(409).send({ statusCode: 409, error: 'Conflict', message: `room ${request.body.id} already exists` })
    }
    return reply.code(201).send(room)
  })

  fastify.get('/rooms', {
    schema: {
      tags: ['rooms'],
      operationId: 'listRooms',
      summary: 'List rooms by id',
      security,
      querystring: ListRoomsQuery,
      response: { 200: RoomList, ...errorResponses(400, 401, 429, 500, 503) }
    }
  }, async (request) => {
    // The cursor is the id of the previous page's last room: any id is a place to go on from,
    // so every cursor the schema accepts is answered.
    return admin.list(request.query.limit ?? LIMIT_DEFAULT, request.query.cursor)
  })

  fastify.get('/rooms/:id', {
    schema: { tags: ['rooms'], operationId: 'getRoom', summary: 'Get a room', security, params: RoomParams, response: { 200: Room, ...errors } }
  }, async (request, reply) => {
    return await admin.get(request.params.id) ?? notFound(reply, request.params.id)
  })

  fastify.patch('/rooms/:id', {
    schema: {
      tags: ['rooms'],
      operationId: 'updateRoom',
      summary: 'Change a room',
      security,
      params: RoomParams,
      body: PatchRoomBody,
      response: { 200: Room, ...errors, ...bodyErrors }
    }
  }, async (request, reply) => {
    const wantsDatabase = request.body?.historyLimit === 0 || (request.body?.retentionDays !== undefined && request.body.retentionDays !== null)
    if (wantsDatabase && !fastify.engine.unboundedHistory) return unboundedRefused(reply)
    return await admin.update(request.params.id, request.body ?? {}) ?? notFound(reply, request.params.id)
  })

  fastify.delete('/rooms/:id', {
    schema: {
      tags: ['rooms'],
      operationId: 'deleteRoom',
      summary: 'Delete a room; members get room_deleted',
      security,
      params: RoomParams,
      response: { 204: NoContent('deleted'), ...errors }
    }
  }, async (request, reply) => {
    if (!await admin.delete(request.params.id)) return notFound(reply, request.params.id)
    return reply.code(204).send(null)
  })

  fastify.get('/rooms/:id/online', {
    schema: {
      tags: ['rooms'],
      operationId: 'listOnline',
      summary: 'Users online in a room',
      security,
      params: RoomParams,
      response: { 200: OnlineList, ...errors }
    }
  }, async (request, reply) => {
    const users = await admin.online(request.params.id)
    return users === undefined ? notFound(reply, request.params.id) : { users }
  })

  fastify.put('/rooms/:id/grants/:user', {
    schema: {
      tags: ['rooms'],
      operationId: 'grantUser',
      summary: 'Let a user join the private room',
      security,
      params: GrantParams,
      response: { 204: NoContent('granted'), ...errors }
    }
  }, async (request, reply) => {
    const { id, user } = request.params
    if (!await admin.grant(id, user)) return notFound(reply, id)
    return reply.code(204).send(null)
  })

  fastify.delete('/rooms/:id/grants/:user', {
    schema: {
      tags: ['rooms'],
      operationId: 'revokeUser',
      summary: "Revoke a user's grant; the user's connections in the room get kicked",
      security,
      params: GrantParams,
      response: { 204: NoContent('revoked'), ...errors }
    }
  }, async (request, reply) => {
    const { id, user } = request.params
    if (!await admin.revoke(id, user)) return notFound(reply, id)
    return reply.code(204).send(null)
  })

  fastify.get('/rooms/:id/messages', {
    schema: {
      tags: ['rooms'],
      operationId: 'listMessages',
      summary: 'Message history, ascending',
      security,
      params: RoomParams,
      querystring: Type.Object({ ...MessagesQuery.properties, ...protocol.fields('rest.listMessages') }),
      response: { 200: Type.Object({ messages: Type.Array(Message) }), ...errors }
    }
  }, async (request, reply) => {
    const { id } = request.params
    const { limit = LIMIT_DEFAULT, before } = request.query
    let list
    try {
      list = await messages.history(id, { limit, before, input: request.query })
    } catch (err) {
      if (err instanceof Refused) return refusedReply(reply, err)
      throw err
    }
    // Only an empty page can be an unknown room; the common case costs one query.
    if (list.length === 0 && !await admin.exists(id)) return notFound(reply, id)
    return { messages: list }
  })

  fastify.post('/rooms/:id/messages', {
    schema: {
      tags: ['rooms'],
      operationId: 'postMessage',
      summary: 'Post a message to the room as `user` (default `system`)',
      description: 'With a `clientId`, a repeat by the same user in the same room within 24 hours stores nothing and ' +
        'answers 200 with the message stored the first time.',
      security,
      params: RoomParams,
      body: Type.Object({ ...postMessageBody(fastify.config.CHAT_MAX_TEXT).properties, ...protocol.fields('rest.postMessage') }),
      response: { 201: Message, 200: Message, ...errors, ...bodyErrors }
    }
  }, async (request, reply) => {
    const { id } = request.params
    const { text, user = 'system' } = request.body
    let appended
    try {
      appended = await messages.post(id, user, text, request.body)
    } catch (err) {
      if (err instanceof Refused) return refusedReply(reply, err)
      throw err
    }
    if (appended === undefined) return notFound(reply, id)
    return reply.code(appended.duplicate ? 200 : 201).send(appended.message)
  })
}

export default rooms

/** historyLimit 0 or a retention period on Redis alone: history lives in memory there, bounded by historyLimit. */
function unboundedRefused (reply: FastifyReply) {
  return reply.code(400).send({
    statusCode: 400,
    error: 'Bad Request',
    message: 'historyLimit 0 (keep every message) and retentionDays need history in a database; on Redis alone history lives in memory, so give the room a limit'
  })
}
