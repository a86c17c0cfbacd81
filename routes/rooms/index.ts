import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import type { RoomRecord } from '../../src/engine/types.ts'
import { LIMIT_DEFAULT } from '../../src/schemas/common.ts'
import { postMessageBody } from '../../src/schemas/post-message.ts'
import {
  CreateRoomBody, EditMessageBody, errorResponses, GrantParams, ListRoomsQuery, Message, MessageList, MessageParams, MessagesQuery,
  NoContent, OnlineList, PatchRoomBody, ReadList, Room, RoomList, RoomParams
} from '../../src/schemas/rest.ts'

function notFound (reply: FastifyReply, id: string) {
  return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `room ${id} does not exist` })
}

/** What every room call may answer besides its own outcomes; calls with a body add 413 and 415. */
const errors = errorResponses(400, 401, 404, 429, 500, 503)
const bodyErrors = errorResponses(413, 415)

/** Room administration for operators; every call goes through the hub, never to storage directly. */
const rooms: FastifyPluginAsyncTypebox = async (fastify) => {
  const hub = fastify.rooms
  const store = hub.store
  const defaultLimit = fastify.config.CHAT_HISTORY_LIMIT
  const describe = (record: RoomRecord) => hub.describe(record, defaultLimit)

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
    const record = await store.createRoom(request.body)
    if (record === undefined) {
      return reply.code(409).send({ statusCode: 409, error: 'Conflict', message: `room ${request.body.id} already exists` })
    }
    return reply.code(201).send(await describe(record))
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
    const { limit, cursor } = request.query
    // The cursor is the id of the previous page's last room: any id is a place to go on from,
    // so every cursor the schema accepts is answered.
    const page = await store.listRooms(limit ?? LIMIT_DEFAULT, cursor)
    const last = page.rooms.at(-1)
    return {
      rooms: await Promise.all(page.rooms.map(describe)),
      nextCursor: page.hasMore && last !== undefined ? last.id : null
    }
  })

  fastify.get('/rooms/:id', {
    schema: { tags: ['rooms'], operationId: 'getRoom', summary: 'Get a room', security, params: RoomParams, response: { 200: Room, ...errors } }
  }, async (request, reply) => {
    const record = await store.getRoom(request.params.id)
    return record === undefined ? notFound(reply, request.params.id) : describe(record)
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
    const record = await store.updateRoom(request.params.id, request.body ?? {})
    return record === undefined ? notFound(reply, request.params.id) : describe(record)
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
    if (!await hub.deleteRoom(request.params.id)) return notFound(reply, request.params.id)
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
    if (await store.getRoom(request.params.id) === undefined) return notFound(reply, request.params.id)
    return { users: await hub.online(request.params.id) }
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
    if (await store.getRoom(id) === undefined) return notFound(reply, id)
    await store.setGrant(id, user)
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
    if (await store.getRoom(id) === undefined) return notFound(reply, id)
    await hub.revokeGrant(id, user)
    return reply.code(204).send(null)
  })

  fastify.get('/rooms/:id/messages', {
    schema: {
      tags: ['rooms'],
      operationId: 'listMessages',
      summary: 'Message history, ascending',
      security,
      params: RoomParams,
      querystring: MessagesQuery,
      response: { 200: MessageList, ...errors }
    }
  }, async (request, reply) => {
    const { id } = request.params
    const messages = await store.history(id, request.query.limit ?? LIMIT_DEFAULT, request.query.before)
    // Only an empty page can be an unknown room; the common case costs one query.
    if (messages.length === 0 && await store.getRoom(id) === undefined) return notFound(reply, id)
    return { messages }
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
      body: postMessageBody(fastify.config.CHAT_MAX_TEXT),
      response: { 201: Message, 200: Message, ...errors, ...bodyErrors }
    }
  }, async (request, reply) => {
    const { id } = request.params
    const { text, user = 'system', clientId } = request.body
    const appended = await hub.postMessage(id, user, text, clientId)
    if (appended === undefined) return notFound(reply, id)
    return reply.code(appended.duplicate ? 200 : 201).send(appended.message)
  })

  fastify.patch('/rooms/:id/messages/:seq', {
    schema: {
      tags: ['rooms'],
      operationId: 'editMessage',
      summary: 'Edit any message (operator); members get `updated`',
      security,
      params: MessageParams,
      body: EditMessageBody(fastify.config.CHAT_MAX_TEXT),
      response: { 200: Message, ...errors, ...bodyErrors }
    }
  }, async (request, reply) => {
    const { id, seq } = request.params
    const change = await fastify.messageEdits.editAny(id, seq, request.body.text)
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
    const change = await fastify.messageEdits.deleteAny(id, seq)
    if (change.outcome === 'not_found' || change.outcome === 'forbidden') return messageNotFound(reply, id, seq, 'is not retained')
    return reply.code(204).send(null)
  })

  fastify.get('/rooms/:id/reads', {
    schema: {
      tags: ['rooms'],
      operationId: 'getReads',
      summary: 'Read seqs of the room ("seen by")',
      security,
      params: RoomParams,
      response: { 200: ReadList, ...errors }
    }
  }, async (request, reply) => {
    const { id } = request.params
    if (await store.getRoom(id) === undefined) return notFound(reply, id)
    return { reads: await fastify.readState.readsOf(id) }
  })
}

function messageNotFound (reply: FastifyReply, room: string, seq: number, why: string) {
  return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `message ${seq} of room ${room} ${why}` })
}

export default rooms
