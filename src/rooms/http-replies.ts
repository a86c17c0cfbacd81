import type { FastifyReply } from 'fastify'
import type { Refused } from '../engine/extension.ts'

/** 404 for a room that does not exist. */
export function roomNotFound (reply: FastifyReply, id: string) {
  return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `room ${id} does not exist` })
}

/** A feature's refusal of a request, as an HTTP error: not_found 404, forbidden 403, bad_request 400. */
export function refusedReply (reply: FastifyReply, err: Refused) {
  const statusCode = err.code === 'not_found' ? 404 : err.code === 'forbidden' ? 403 : 400
  const error = statusCode === 404 ? 'Not Found' : statusCode === 403 ? 'Forbidden' : 'Bad Request'
  return reply.code(statusCode).send({ statusCode, error, message: err.message })
}
