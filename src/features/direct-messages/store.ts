/** The port of direct messages: which rooms are DMs, between whom; durable, shared by every node, gone with the room. */
export interface DmStore {
  /** Records the room as the DM of `users` (sorted), idempotently. */
  save (room: string, users: string[]): Promise<void>
  /** The DM rooms the user takes part in, by id (rooms since deleted are skipped). */
  roomsOf (user: string): Promise<string[]>
  /** Whether each room is a DM. */
  areDms (rooms: string[]): Promise<boolean[]>
}
