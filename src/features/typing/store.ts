/** What a change of a room's typing set did. */
export interface TypingState {
  /** The users now typing, sorted, when this call changed the set. */
  changed?: string[]
  /** Milliseconds until the next entry expires; undefined when nobody is typing. */
  nextExpiryMs?: number
}

export type TypingOp = 'start' | 'stop' | 'sweep'

/**
 * The port of typing indicators: each room's set of typing users, with an expiry per user.
 * `change` first drops expired entries, then starts (or prolongs to `ttlMs` from now) or stops
 * the user's typing (`sweep` only drops); when the set changed, it publishes it as the `typing`
 * event in the same step. The local store answers at once (a value, not a promise), so a typing
 * frame on one node waits for nothing.
 */
export interface TypingStore {
  change (room: string, user: string, op: TypingOp, ttlMs: number): TypingState | Promise<TypingState>
  /** Forgets a deleted room (Redis deletes the room's key with the room). */
  forget (room: string): void
}
