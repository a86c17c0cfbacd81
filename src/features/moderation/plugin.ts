import fp from 'fastify-plugin'
import Type from 'typebox'
import type { ParsedFrame } from '../../hub/frame-handlers.ts'
import type { Refusal } from '../../hub/room-access.ts'
import { Moderation } from './moderation.ts'
import routes from './routes.ts'
import { SanctionsCache } from './sanctions-cache.ts'
import type { BanFrame, KickFrame, MuteFrame, UnbanFrame, UnmuteFrame } from './schemas.ts'
import { sanctionsStorage } from './storage.ts'

/** The frames a mute refuses. */
const MUTED_FRAMES = ['message', 'react', 'typing']

/**
 * Moderation: `kick`, `ban`, `unban`, `mute` and `unmute` frames for owners and moderators, bans
 * and mutes over REST, bans refusing joins, mutes refusing messages, reactions and typing.
 */
export default fp(async (fastify) => {
  const hub = fastify.rooms
  const store = fastify.engine.port(sanctionsStorage)
  const cache = new SanctionsCache(store)
  const moderation = new Moderation({
    hub,
    roomAdmin: fastify.roomAdmin,
    store,
    cache,
    announce: (room) => hub.publishFeature('sanctions', room, {})
  })
  hub.onFeatureEvent('sanctions', Type.Object({}), (room) => moderation.forget(room))
  hub.powers.joinCheck((connection, room) => moderation.joinRefusal(connection, room))
  const frames = fastify.frames
  frames.handle<KickFrame>('kick', (connection, frame) => moderation.kick(connection, frame))
  frames.handle<BanFrame>('ban', (connection, frame) => moderation.sanctionFrame(connection, 'ban', frame))
  frames.handle<MuteFrame>('mute', (connection, frame) => moderation.sanctionFrame(connection, 'mute', frame))
  frames.handle<UnbanFrame>('unban', (connection, frame) => moderation.liftFrame(connection, 'ban', frame))
  frames.handle<UnmuteFrame>('unmute', (connection, frame) => moderation.liftFrame(connection, 'mute', frame))
  for (const type of MUTED_FRAMES) {
    frames.wrap<ParsedFrame & { room: string }>(type, (next) => (connection, frame) => {
      const refuse = (refused: Refusal | undefined) => refused === undefined ? next(connection, frame) : hub.reply(connection, refused.code, refused.message, frame.ref)
      const refused = moderation.muteRefusal(connection, frame.room)
      return refused instanceof Promise ? refused.then(refuse) : refuse(refused)
    })
  }
  await fastify.register(routes, { moderation })
}, { name: 'moderation', dependencies: ['rooms', 'frames', 'storage', 'admin-auth', 'room-admin'] })
