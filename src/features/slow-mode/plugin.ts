import fp from 'fastify-plugin'
import Type from 'typebox'
import type { ParsedFrame } from '../../hub/frame-handlers.ts'
import type { SlowModeFrame } from './schemas.ts'
import { SlowMode, type TooSoon } from './slow-mode.ts'
import { slowModeStorage } from './storage.ts'

/**
 * Slow mode: the `slow_mode` frame for owners and moderators, and the room's `slowModeMs` (REST's
 * PATCH) enforced on `message` frames: one too soon gets `rate_limited` with `retryAfterMs`.
 */
export default fp(async (fastify) => {
  const hub = fastify.rooms
  const slowMode = new SlowMode({ hub, roomAdmin: fastify.roomAdmin, store: fastify.engine.port(slowModeStorage) })
  hub.onFeatureEvent('slow_mode', Type.Object({}), (room) => slowMode.forget(room))
  fastify.roomAdmin.onUpdate((room) => {
    slowMode.forget(room.id)
    hub.publishFeature('slow_mode', room.id, {})
  })
  fastify.frames.handle<SlowModeFrame>('slow_mode', (connection, frame) => slowMode.setFrame(connection, frame))
  fastify.frames.wrap<ParsedFrame & { room: string }>('message', (next) => (connection, frame) => {
    const go = (tooSoon: TooSoon | undefined) => {
      if (tooSoon === undefined) return next(connection, frame)
      const { retryAfterMs, message } = tooSoon
      connection.send({ type: 'error', code: 'rate_limited', message, retryAfterMs, ...(frame.ref === undefined ? {} : { ref: frame.ref }) })
    }
    const tooSoon = slowMode.check(connection, frame.room)
    return tooSoon instanceof Promise ? tooSoon.then(go) : go(tooSoon)
  })
}, { name: 'slow-mode', dependencies: ['rooms', 'frames', 'storage', 'room-admin', 'roles'] })
