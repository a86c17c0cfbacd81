/** A move of one user's read seq in one room. */
export interface ReadMove { room: string, user: string, seq: number }

/** A user's read position in a room, with the room's latest seq. */
export interface UnreadEntry { room: string, seq: number, readSeq: number, unread: number }

/**
 * The port of read state: a forward-only read seq per (room, user), durable like messages and
 * shared by every node. A user's own message moves its read seq in the step that stores it
 * (an append hook), when it has one there: the append's effect `read-state` is 1 then.
 */
export interface ReadStore {
  /** The user's read seq in the room; undefined when it has none. */
  readSeq (room: string, user: string): Promise<number | undefined>
  /**
   * Moves read seqs forward in one step; a move to a lower seq than stored changes nothing, and a
   * move in a room that no longer exists is dropped. Resolves with the moves that took effect:
   * the objects given, so a caller's own fields come back with them.
   */
  saveReads<M extends ReadMove> (moves: M[]): Promise<M[]>
  /** Every user with a read seq in the room, by user id. */
  reads (room: string): Promise<{ user: string, seq: number }[]>
  /** Every existing room where the user has a read seq, by room id. */
  unread (user: string): Promise<UnreadEntry[]>
}
