import fp from 'fastify-plugin'
import { FrameHandlers } from '../src/hub/frame-handlers.ts'

declare module 'fastify' {
  interface FastifyInstance { frames: FrameHandlers }
}

/** Who handles each client frame type: the core's plugins and every feature register theirs. */
export default fp(async (fastify) => {
  const frames = new FrameHandlers()
  fastify.decorate('frames', frames)
  // Every frame the protocol admits has a handler, or the service does not start.
  fastify.addHook('onReady', async () => {
    const missing = frames.missing(Object.keys(fastify.protocol.clientFrames))
    if (missing.length > 0) throw new Error(`client frames without a handler: ${missing.join(', ')}`)
  })
}, { name: 'frames', dependencies: ['message-schemas'] })
