import type { ChatStore } from '../../engine/types.ts'
import type { ChatHub } from '../../hub/chat-hub.ts'
import type { Connection } from '../../hub/connection.ts'
import { corked } from '../../hub/framing.ts'
import type { MessageService } from '../../hub/messages.ts'
import type { ReadEvent, ReadFrame, ReadsFrame, RoomUnread, UnreadFrame } from './schemas.ts'
import type { ReadMove, ReadStore } from './store.ts'

/** Adds a feature's fields to a user's unread entries (mentions). */
export type UnreadFields = (user: string, rooms: RoomUnread[]) => Promise<void>

/** How long moves of one user in one room gather before they are written (the contract allows 1 s). */
export const READ_FLUSH_MS = 1000
/**
 * First joins gather this long before their read seqs are written together: a join answered a
 * few milliseconds later goes unnoticed, and a join storm costs a few transactions, not one per join.
 */
const FIRST_READS_WINDOW_MS = 5
/** Writes happen in this many slices of the window, so that a busy node never writes a whole second at once. */
const SLICES = 50

/**
 * The slice of the window in which a room's moves are written: a fixed phase from a hash of the
 * room (FNV-1a), so that writes spread evenly over the second however the moves arrive. Were a
 * move written a whole window after it was made, moves made together (every member reading the
 * same message) would stay together second after second, each second's writes and
 * announcements in one burst that stalls the event loop. One phase per room, not per reader, so
 * that a member hears of all the room's moves of a second in one write (see `write`).
 */
export function sliceOf (room: string, slices = SLICES): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < room.length; i++) hash = Math.imul(hash ^ room.charCodeAt(i), 0x01000193)
  return (hash >>> 0) % slices
}

interface PendingMove extends ReadMove {
  /** Moved by a `read` frame, so the room hears of it (a user's own message moves it silently). */
  announce: boolean
  /**
   * The seq the store already wrote with this user's own message: a move up to it needs no
   * write, only its announcement when a `read` frame asked for it.
   */
  stored?: number
}

/**
 * Read state: a forward-only read seq per (room, user). Moves are coalesced: the moves of one
 * (room, user) within a second become one write of the latest, so a busy room costs one write a
 * second per reader instead of one per `read` frame. The second is cut into slices, each room's
 * moves written only when its own slice begins (each slice one transaction or one round of
 * scripts): a move waits at most the window, two writes of one (room, user) are a window apart,
 * and a node with thousands of rooms writes and announces an even share of them every slice
 * instead of stalling its event loop on one big burst. A move is announced to the room only
 * once written, so a `read` frame received means a durable read seq. Queries first write what
 * is pending, so a client always reads its own moves.
 */
export class ReadState {
  private readonly hub: ChatHub
  private readonly store: ReadStore
  /** The core's store, for a room's latest seq. */
  private readonly rooms: ChatStore
  private readonly unreadFields: UnreadFields[] = []
  private readonly flushMs: number
  /** Moves not yet written, by room and user: the latest per (room, user) only. */
  private pending = new Map<string, Map<string, PendingMove>>()
  /** The same moves by the slice they are written in. */
  private readonly slices: PendingMove[][] = Array.from({ length: SLICES }, () => [])
  private pendingCount = 0
  /** Slices are numbered from the clock's origin (slice n begins at n × sliceMs); the next one to write. */
  private nextSlice = 0
  private readonly sliceMs: number
  private timer: NodeJS.Timeout | undefined
  /** The slice the timer is set for. */
  private timerSlice = 0
  private writing: Promise<void> = Promise.resolve()
  /** First joins' read seqs gathered for one write, before their `joined` goes out. */
  private firstReads: { moves: ReadMove[], written: Promise<unknown> } | undefined

  constructor (deps: { hub: ChatHub, messages: MessageService, store: ReadStore, rooms: ChatStore }, options: { flushMs?: number } = {}) {
    this.hub = deps.hub
    this.store = deps.store
    this.rooms = deps.rooms
    this.flushMs = options.flushMs ?? READ_FLUSH_MS
    this.sliceMs = this.flushMs / SLICES
    // Kept pending even when the store moved it with the message: a `read` frame up to the
    // user's own message within the window is still announced, as when both were written together.
    deps.messages.on('sent', (connection, message, effects) =>
      this.move(message.room, connection.user, message.seq, false, effects['read-state'] === 1 ? message.seq : undefined))
    deps.hub.on('joining', (connection, room, latestSeq) => this.readSeqForJoin(room, connection.user, latestSeq))
  }

  /** A feature's fields of unread entries (mentions): added to every `unread` answer. */
  onUnread (fields: UnreadFields): void {
    this.unreadFields.push(fields)
  }

  /** Synchronous unless the seq is past what this node has delivered: most reads wait for nothing. */
  read (connection: Connection, frame: ReadFrame): void | Promise<void> {
    const { room, seq, ref } = frame
    if (!this.hub.isMember(connection, room)) return this.hub.reply(connection, 'not_member', `join room ${room} before marking it read`, ref)
    if (seq > this.hub.deliveredSeq(room)) return this.readPastDelivered(connection, room, seq, ref)
    this.move(room, connection.user, seq, true)
  }

  /** A read past the last seq this node delivered: valid only if the store has that seq. */
  private async readPastDelivered (connection: Connection, room: string, seq: number, ref: string | undefined): Promise<void> {
    if (seq > await this.rooms.latestSeq(room)) {
      return this.hub.reply(connection, 'bad_request', `read: seq ${seq} is past the room's latest seq`, ref)
    }
    this.move(room, connection.user, seq, true)
  }

  async unread (connection: Connection, frame: UnreadFrame): Promise<void> {
    const rooms = await this.unreadOf(connection.user)
    connection.send(frame.ref === undefined ? { type: 'unread', rooms } : { type: 'unread', rooms, ref: frame.ref })
  }

  async reads (connection: Connection, frame: ReadsFrame): Promise<void> {
    const { room, ref } = frame
    if (!this.hub.isMember(connection, room)) return this.hub.reply(connection, 'not_member', `join room ${room} to see who read it`, ref)
    const reads = await this.readsOf(room)
    connection.send(ref === undefined ? { type: 'reads', room, reads } : { type: 'reads', room, reads, ref })
  }

  async readsOf (room: string): Promise<{ user: string, seq: number }[]> {
    await this.flush()
    return this.store.reads(room)
  }

  /**
   * The user's entries: every room where it has a read seq, and each room of `alsoRooms` where it
   * has none (readSeq 0: all of it unread), each with the fields other features add.
   */
  async unreadOf (user: string, alsoRooms: readonly string[] = []): Promise<RoomUnread[]> {
    await this.flush()
    const rooms: RoomUnread[] = (await this.store.unread(user)).map((entry) => ({ ...entry }))
    const listed = new Set(rooms.map((entry) => entry.room))
    for (const room of new Set(alsoRooms)) {
      if (listed.has(room)) continue
      const record = await this.rooms.getRoom(room)
      if (record === undefined) continue
      const seq = await this.rooms.latestSeq(room)
      rooms.push({ room, seq, readSeq: 0, unread: seq })
    }
    for (const fields of this.unreadFields) await fields(user, rooms)
    return rooms
  }

  /** Writes every pending move, and waits for writes already under way. */
  flush (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    return this.writeMoves(this.slices.flatMap((_, index) => this.take(index)))
  }

  async close (): Promise<void> {
    await this.flush()
  }

  /** Empties one slice, its moves no longer pending. */
  private take (index: number): PendingMove[] {
    const moves = this.slices[index]!
    if (moves.length === 0) return moves
    this.slices[index] = []
    this.pendingCount -= moves.length
    for (const move of moves) {
      const users = this.pending.get(move.room)
      users?.delete(move.user)
      if (users?.size === 0) this.pending.delete(move.room)
    }
    return moves
  }

  /** Writes `moves` after the writes already under way. */
  private writeMoves (moves: PendingMove[]): Promise<void> {
    if (moves.length === 0) return this.writing
    this.writing = this.writing.then(() => this.write(moves))
    return this.writing
  }

  /** Writes the slices that began since the last tick (several, when the event loop was late), and waits for the next. */
  private tick (): void {
    this.timer = undefined
    const now = Math.floor(performance.now() / this.sliceMs)
    const moves: PendingMove[] = []
    for (; this.nextSlice <= now && this.pendingCount > 0; this.nextSlice++) moves.push(...this.take(this.nextSlice % SLICES))
    this.nextSlice = Math.max(this.nextSlice, now + 1)
    void this.writeMoves(moves)
    this.schedule()
  }

  /** After a tick: the timer for the beginning of the next slice that holds a move. */
  private schedule (): void {
    if (this.pendingCount === 0) return
    let next = this.nextSlice
    while (this.slices[next % SLICES]!.length === 0) next++
    this.setTimer(next)
  }

  private setTimer (slice: number): void {
    clearTimeout(this.timer)
    this.timerSlice = slice
    this.timer = setTimeout(() => this.tick(), Math.max(0, slice * this.sliceMs - performance.now())).unref()
  }

  private move (room: string, user: string, seq: number, announce: boolean, stored?: number): void {
    let users = this.pending.get(room)
    if (users === undefined) this.pending.set(room, users = new Map())
    const pending = users.get(user)
    if (pending === undefined) {
      const entry: PendingMove = { room, user, seq, announce }
      if (stored !== undefined) entry.stored = stored
      users.set(user, entry)
      // With nothing pending the clock went on alone: the slice under way now has begun, so
      // a move made in it waits a whole window, and a write never follows the one before sooner.
      if (this.pendingCount === 0) this.nextSlice = Math.max(this.nextSlice, Math.floor(performance.now() / this.sliceMs) + 1)
      const slice = sliceOf(room)
      this.slices[slice]!.push(entry)
      this.pendingCount++
      const writtenAt = this.nextSlice + (slice - this.nextSlice % SLICES + SLICES) % SLICES
      if (this.timer === undefined || writtenAt < this.timerSlice) this.setTimer(writtenAt)
    } else {
      // A read frame below a move already pending moves nothing, so it announces nothing.
      if (announce && seq >= pending.seq) pending.announce = true
      if (seq > pending.seq) pending.seq = seq
      if (stored !== undefined && stored > (pending.stored ?? -1)) pending.stored = stored
    }
  }

  private async write (moves: PendingMove[]): Promise<void> {
    const unwritten = moves.filter((move) => move.stored === undefined || move.stored < move.seq)
    let moved = new Set<PendingMove>()
    if (unwritten.length > 0) {
      try {
        moved = new Set(await this.store.saveReads(unwritten))
      } catch {
        // Storage failed: keep the moves for the next window rather than lose them.
        for (const move of unwritten) this.move(move.room, move.user, move.seq, move.announce, move.stored)
      }
    }
    // A move up to a seq stored with the user's message is durable already, written or not here.
    const announced = moves.filter((move) => move.announce && (moved.has(move) || move.stored === move.seq))
    if (announced.length === 0) return
    // A slice holds whole rooms: corked, each member here gets the room's announcements in one
    // write (when the engine delivers at once; with Redis the events come back later).
    const publish = () => {
      for (const move of announced) {
        const data: ReadEvent = { user: move.user, seq: move.seq }
        this.hub.publishFeature('read', move.room, data)
      }
    }
    if (!this.hub.deliversAtOnce) return publish()
    const members: Connection[] = []
    for (const room of new Set(announced.map((move) => move.room))) members.push(...this.hub.liveMembers(room))
    corked(members, publish)
  }

  /**
   * `readSeq` for the joined frame; a user's first join of a room reads it up to its latest
   * seq. That first read seq is durable before `joined` announces it (a crash must not turn the
   * next join into a first one, marking everything in between read); the first joins of a few
   * milliseconds share one write.
   */
  private async readSeqForJoin (room: string, user: string, latestSeq: number): Promise<{ readSeq: number }> {
    const stored = await this.store.readSeq(room, user)
    const pending = this.pending.get(room)?.get(user)?.seq
    if (stored !== undefined || pending !== undefined) return { readSeq: Math.max(stored ?? 0, pending ?? 0) }
    await this.writeFirstRead({ room, user, seq: latestSeq })
    return { readSeq: latestSeq }
  }

  private writeFirstRead (move: ReadMove): Promise<unknown> {
    let batch = this.firstReads
    if (batch === undefined) {
      const moves: ReadMove[] = []
      const written = new Promise<ReadMove[]>((resolve, reject) => setTimeout(() => {
        this.firstReads = undefined
        this.store.saveReads(moves).then(resolve, reject)
      }, FIRST_READS_WINDOW_MS))
      this.firstReads = batch = { moves, written }
    }
    batch.moves.push(move)
    return batch.written
  }
}
