/** Where to count a user's mentions: a room, and the read seq after which they count. */
export interface MentionQuery { room: string, after: number }

/**
 * The port of mentions. The `mentions` field of a message is kept with it; the store keeps an
 * index of (room, user, seq) in step with it, written in the append or change that sets it (an
 * append hook, a change hook), so counting needs no scan of the messages.
 */
export interface MentionsStore {
  /** For each query, how many retained messages with seq > `after` mention the user, in the order asked. */
  counts (user: string, queries: MentionQuery[]): Promise<number[]>
}
