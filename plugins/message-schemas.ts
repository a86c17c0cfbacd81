import fp from 'fastify-plugin'
import type { Protocol } from '../src/protocol/compose.ts'
import { createFrameParser, type FrameParser } from '../src/protocol/frame-parser.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The wire protocol of the core and every feature: the schemas routes answer with and documents describe. */
    protocol: Protocol
    parseFrame: FrameParser
  }
}

/**
 * The message and frame schemas of the core and every feature (composed by the app), and the
 * client frame validators compiled from them: raw data in, typed frame or error out.
 */
export default fp<{ protocol: Protocol }>(async (fastify, { protocol }) => {
  fastify.decorate('protocol', protocol)
  fastify.decorate('parseFrame', createFrameParser({ maxText: fastify.config.CHAT_MAX_TEXT, frames: protocol.clientFrames }))
}, { name: 'message-schemas', dependencies: ['config'] })
