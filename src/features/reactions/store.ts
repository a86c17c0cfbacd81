import type { Change } from '../../hub/message-updates.ts'
import { type Reaction, type ReactedMessage, type ReactionSummary, USERS_SHOWN } from './schemas.ts'

/**
 * The port of reactions. A user has at most one reaction of each emoji on a message. A change
 * rewrites the message's `reactions` through the core's "message changed" step (recovery), is
 * recorded for webhooks (reaction.added, reaction.removed) and, when `publish`, published to the
 * room as `updated` in the same step. A message that is not retained, or is deleted, is
 * `not_found`; adding a reaction that is there, or removing one that is not, is `unchanged`.
 */
export interface ReactionsStore {
  react (room: string, seq: number, user: string, emoji: string, active: boolean, publish: boolean): Promise<Change<ReactedMessage>>
  /** Every reaction of a retained message, oldest first; undefined when the message is not retained. */
  list (room: string, seq: number): Promise<Reaction[] | undefined>
}

/**
 * A message's `reactions` from its reactions in the order they were made: one entry per emoji, in
 * the order of its earliest reaction, with the first USERS_SHOWN users; undefined without any.
 */
export function summarize (reactions: { emoji: string, user: string }[]): ReactionSummary[] | undefined {
  const byEmoji = new Map<string, ReactionSummary>()
  for (const { emoji, user } of reactions) {
    let entry = byEmoji.get(emoji)
    if (entry === undefined) byEmoji.set(emoji, entry = { emoji, count: 0, users: [] })
    entry.count++
    if (entry.users.length < USERS_SHOWN) entry.users.push(user)
  }
  return byEmoji.size === 0 ? undefined : [...byEmoji.values()]
}
