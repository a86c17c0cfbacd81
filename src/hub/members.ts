import type { Connection } from './connection.ts'
import type { Framed } from './framing.ts'

/** A frame held for a connection whose join is still reading history. */
export interface Held { seq: number | undefined, framed: Framed, text: string, presence?: { event: 'join' | 'leave', user: string } }

/** A join in progress: the frames that arrived meanwhile, and whether it repeats a join. */
export interface Joining { held: Held[], rejoin: boolean }

/** This process's members of one room. */
export interface RoomMembers {
  /** Connections receiving live frames. */
  live: Set<Connection>
  /** Connections whose join is in progress. */
  joining: Map<Connection, Joining>
  /** The highest message seq this node has delivered in the room. */
  seq: number
}

/**
 * Who is in which room on this node, for the hub: every change is synchronous, so a broadcast
 * never sees half of one. `counted` is kept apart from membership because a connection leaves
 * a room at once but is uncounted from the broker's presence after an await.
 */
export class Members {
  private readonly rooms = new Map<string, RoomMembers>()
  private readonly counted = new Map<string, Set<Connection>>()

  get (room: string): RoomMembers | undefined {
    return this.rooms.get(room)
  }

  /** The room's members here, made when it has none. */
  of (room: string): RoomMembers {
    let members = this.rooms.get(room)
    if (members === undefined) this.rooms.set(room, members = { live: new Set(), joining: new Map(), seq: 0 })
    return members
  }

  /** Forgets a deleted room; returns its members here. */
  drop (room: string): RoomMembers | undefined {
    const members = this.rooms.get(room)
    this.rooms.delete(room)
    this.counted.delete(room)
    return members
  }

  /**
   * Removes the connection from the room on this node. Returns whether the others had been
   * told of its join, so that a leave is announced only after a join was.
   */
  detach (connection: Connection, room: string, forget = true): boolean {
    if (forget) connection.rooms.delete(room)
    const members = this.rooms.get(room)
    if (members === undefined) return false
    const joining = members.joining.get(connection)
    const announced = members.live.delete(connection) || joining?.rejoin === true
    members.joining.delete(connection)
    if (members.live.size === 0 && members.joining.size === 0) this.rooms.delete(room)
    return announced
  }

  /** The connection is now counted in the broker's presence of the room. */
  countIn (room: string, connection: Connection): void {
    let counted = this.counted.get(room)
    if (counted === undefined) this.counted.set(room, counted = new Set())
    counted.add(connection)
  }

  /** Stops counting it; false when it was not counted (so there is nothing to uncount). */
  countOut (room: string, connection: Connection): boolean {
    const counted = this.counted.get(room)
    if (counted === undefined || !counted.delete(connection)) return false
    if (counted.size === 0) this.counted.delete(room)
    return true
  }

  /** Rooms with members here, and the memberships (connection in a room) they hold. */
  size (): { rooms: number, memberships: number } {
    let memberships = 0
    for (const members of this.rooms.values()) memberships += members.live.size + members.joining.size
    return { rooms: this.rooms.size, memberships }
  }
}

/**
 * Sends a joining connection what was held for it, once its `joined` and replay are out: frames
 * already in the replay (seq ≤ `latestSeq`) and presence that `present` already shows are skipped
 * (with a broker, events arrive after the change they announce, so a join read just now may still
 * be on its way).
 */
export function replayHeld (connection: Connection, held: Held[], latestSeq: number, present: Set<string>): void {
  for (const frame of held) {
    if (frame.presence !== undefined) {
      const { event, user } = frame.presence
      if ((event === 'join') === present.has(user)) continue
      if (event === 'join') present.add(user)
      else present.delete(user)
    } else if (frame.seq !== undefined && frame.seq <= latestSeq) {
      continue
    }
    connection.sendFramed(frame.framed, frame.text)
  }
}
