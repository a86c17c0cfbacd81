/**
 * The port of slow mode's last sends: who sent in a slow room, and when. The interval itself is
 * the room's `slowModeMs`, a setting of the room as its history limit is.
 */
export interface SlowModeStore {
  /**
   * Claims the user's next message in the room: 0 when it may be sent now (and the time is
   * taken), else how many ms are left to wait. `intervalMs` is the room's interval as this node
   * knows it; stores shared by nodes read the room's own, so a change made elsewhere holds at once.
   */
  claim (room: string, user: string, intervalMs: number): Promise<number>
}
