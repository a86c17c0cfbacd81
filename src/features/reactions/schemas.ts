import Type, { type Static } from 'typebox'
import { Id, IsoTime, type Message, MessageSeq } from '../../schemas/common.ts'
import { clientFrame } from '../../schemas/frame-base.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'

/** The contract's bound on an emoji, in code points (checked by the handler: JSON Schema's maxLength counts code units here). */
export const EMOJI_MAX = 32
/** Users listed per emoji on a message; `count` says how many reacted in all. */
export const USERS_SHOWN = 25

/** An emoji such as "👍", or a short name such as "thumbs_up": 1 to 32 characters, no whitespace. */
export const Emoji = Type.String({ minLength: 1, maxLength: EMOJI_MAX * 2, pattern: '^\\S+$', description: '1 to 32 characters, no whitespace' })

/** Adds (or, with active: false, removes) the user's reaction with `emoji` to message `seq`. Members only. */
export const ReactFrame = clientFrame('react', { room: Id, seq: MessageSeq, emoji: Emoji, active: Type.Optional(Type.Boolean()) })

/** One emoji's reactions on a message, as the message carries them. */
export const ReactionSummary = Type.Object({
  emoji: Emoji,
  count: Type.Integer({ minimum: 1, description: 'how many users reacted with it' }),
  users: Type.Array(Id, { description: `the first ${USERS_SHOWN} users, in the order they reacted` })
})

/** What reactions set on a message: one entry per emoji, by its earliest current reaction; absent without any. */
export const ReactionFields = {
  reactions: Type.Optional(Type.Array(ReactionSummary, { minItems: 1, description: 'one entry per emoji, ordered by the time of its earliest current reaction' }))
}

/** One reaction, as GET /rooms/:id/messages/:seq/reactions lists it. */
export const Reaction = Type.Object({ emoji: Emoji, user: Id, time: IsoTime })

/** The data of reaction.added and reaction.removed. */
export const ReactionEvent = Type.Object({ seq: MessageSeq, emoji: Emoji, user: Id })

export type ReactFrame = Static<typeof ReactFrame>
export type ReactionSummary = Static<typeof ReactionSummary>
export type Reaction = Static<typeof Reaction>
export type ReactedMessage = Message & Static<ReturnType<typeof Type.Object<typeof ReactionFields>>>

export const reactionsProtocol: ProtocolPart = {
  name: 'reactions',
  extends: { Message: ReactionFields },
  schemas: () => ({
    clientFrames: { react: ReactFrame },
    events: {
      'reaction.added': { data: ReactionEvent, description: 'A user reacted to a message with an emoji' },
      'reaction.removed': { data: ReactionEvent, description: 'A user took back its reaction with an emoji' }
    }
  }),
  summaries: {
    'client.react': 'Add (or with `active: false` remove) the user\'s reaction to a message; answered `ack`; members get `updated`'
  }
}
