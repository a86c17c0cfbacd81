import fp from 'fastify-plugin'
import { createFrameParser, type FrameParser } from '../src/protocol/frame-parser.ts'

declare module 'fastify' {
  interface FastifyInstance { parseFrame: FrameParser }
}

/** The client frame validators, compiled once: raw data in, typed frame or error out. */
export default fp(async (fastify) => {
  fastify.decorate('parseFrame', createFrameParser({ maxText: fastify.config.CHAT_MAX_TEXT }))
}, { name: 'message-schemas', dependencies: ['config'] })
