import Type, { type Static } from 'typebox'
import { Id } from '../../schemas/common.ts'
import { clientFrame } from '../../schemas/frame-base.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'

/** How long a ban or a mute lasts: 1 ms to 10 years; absent, until it is lifted. */
export const DurationMs = Type.Integer({ minimum: 1, maximum: 315_360_000_000, description: 'how long it lasts, in ms; absent: until lifted' })
const Reason = Type.String({ maxLength: 500 })

export const KickFrame = clientFrame('kick', { room: Id, user: Id, reason: Type.Optional(Reason) })
export const BanFrame = clientFrame('ban', { room: Id, user: Id, durationMs: Type.Optional(DurationMs), reason: Type.Optional(Reason) })
export const UnbanFrame = clientFrame('unban', { room: Id, user: Id })
export const MuteFrame = clientFrame('mute', { room: Id, user: Id, durationMs: Type.Optional(DurationMs), reason: Type.Optional(Reason) })
export const UnmuteFrame = clientFrame('unmute', { room: Id, user: Id })

/** A ban or a mute as REST lists it. */
export const Sanction = Type.Object({
  user: Id,
  until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'when it ends (ISO 8601); null: until lifted' }),
  reason: Type.Union([Type.String(), Type.Null()])
})
export const SanctionBody = Type.Object({ durationMs: Type.Optional(DurationMs), reason: Type.Optional(Reason) })

export type KickFrame = Static<typeof KickFrame>
export type BanFrame = Static<typeof BanFrame>
export type UnbanFrame = Static<typeof UnbanFrame>
export type MuteFrame = Static<typeof MuteFrame>
export type UnmuteFrame = Static<typeof UnmuteFrame>
export type Sanction = Static<typeof Sanction>

/** The kind of a sanction: a ban keeps the user out; a mute keeps it quiet. */
export type SanctionKind = 'ban' | 'mute'

export const moderationProtocol: ProtocolPart = {
  name: 'moderation',
  schemas: () => ({
    clientFrames: { kick: KickFrame, ban: BanFrame, unban: UnbanFrame, mute: MuteFrame, unmute: UnmuteFrame }
  }),
  summaries: {
    'client.kick': 'An owner or moderator removes the user\'s connections from the room (`kicked`); it may join again',
    'client.ban': 'An owner or moderator bans the user from the room, for `durationMs` or until lifted: kicked, and every join `forbidden`',
    'client.unban': 'Lifts a ban',
    'client.mute': 'An owner or moderator mutes the user in the room: its `message`, `react` and `typing` frames get `forbidden` until the mute ends',
    'client.unmute': 'Lifts a mute'
  }
}
