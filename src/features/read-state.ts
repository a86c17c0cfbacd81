import type { ChatStore, ReadMove, UnreadRoom } from '../engine/types.ts'
import type { ChatHub } from '../hub/chat-hub.ts'
import type { Connection } from '../hub/connection.ts'
import type { ReadFrame, ReadsFrame, UnreadFrame } from '../schemas/frames.ts'

/** How long moves of one user in one room gather before they are written (the contract allows 1 s). */
export const READ_FLUSH_MS = 1000
/**
 * First joins gather this long before their read seqs are written together: a join answered a
 * few milliseconds later goes unnoticed, and a join storm costs a few transactions, not one per join.
 */
const FIRST_READS_WINDOW_MS = 5
/** Writes happen in this many slices of the window, so that a busy node never writes a whole second at once. */
const SLICES = 50

interface PendingMove extends ReadMove {
  /** Moved by a `read` frame, so the room hears of it (a user's own message moves it silently). */
  announce: boolean
  /** When this (room, user) is written: its first pending move's time plus the window. */
  due: number
  /**
   * The seq the store already wrote with this user's own message: a move up to it needs no
   * write, only its announcement when a `read` frame asked for it.
   */
  stored?: number
}

/**
 * Read state: a forward-only read seq per (room, user). Moves are coalesced: the moves of one
 * (room, user) within a second become one write of the latest, so a busy room costs one write a
 * second per reader instead of one per `read` frame. The writes are spread over the second in
 * slices (each slice one transaction or one round of scripts), so that a node with thousands of
 * readers never stalls its event loop on one big write. A move is announced to the room only
 * once written, so a `read` frame received means a durable read seq. Queries first write what
 * is pending, so a client always reads its own moves.
 */
export class ReadState {
  private readonly hub: ChatHub
  private readonly store: ChatStore
  private readonly flushMs: number
  /** Moves not yet written, by room and user: the latest per (room, user) only. */
  private pending = new Map<string, Map<string, PendingMove>>()
  /** The same moves in the order they became pending, which is the order they fall due. */
  private queue: PendingMove[] = []
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> = Promise.resolve()
  /** First joins' read seqs gathered for one write, before their `joined` goes out. */
  private firstReads: { moves: ReadMove[], written: Promise<unknown> } | undefined

  constructor (hub: ChatHub, options: { flushMs?: number } = {}) {
    this.hub = hub
    this.store = hub.store
    this.flushMs = options.flushMs ?? READ_FLUSH_MS
    // Kept pending even when the store moved it with the message: a `read` frame up to the
    // user's own message within the window is still announced, as when both were written together.
    hub.on('sent', (connection, message, senderRead) =>
      this.move(message.room, connection.user, message.seq, false, senderRead ? message.seq : undefined))
    hub.on('joining', (connection, room, latestSeq) => this.readSeqForJoin(room, connection.user, latestSeq))
  }

  async read (connection: Connection, frame: ReadFrame): Promise<void> {
    const { room, seq, ref } = frame
    if (!this.hub.isMember(connection, room)) return this.hub.reply(connection, 'not_member', `join room ${room} before marking it read`, ref)
    if (seq > this.hub.deliveredSeq(room) && seq > await this.store.latestSeq(room)) {
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

  async unreadOf (user: string): Promise<UnreadRoom[]> {
    await this.flush()
    return this.store.unread(user)
  }

  /** Writes every pending move, and waits for writes already under way. */
  flush (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    return this.writeMoves(this.queue.length)
  }

  async close (): Promise<void> {
    await this.flush()
  }

  /** Writes the first `count` moves of the queue, after the writes already under way. */
  private writeMoves (count: number): Promise<void> {
    if (count === 0) return this.writing
    const moves = this.queue.splice(0, count)
    for (const move of moves) {
      const users = this.pending.get(move.room)
      users?.delete(move.user)
      if (users?.size === 0) this.pending.delete(move.room)
    }
    this.writing = this.writing.then(() => this.write(moves))
    return this.writing
  }

  /** Writes the moves that fell due, and waits for the next ones. */
  private tick (): void {
    this.timer = undefined
    const now = performance.now()
    let due = 0
    while (due < this.queue.length && this.queue[due]!.due <= now) due++
    void this.writeMoves(due)
    this.schedule()
  }

  private schedule (): void {
    if (this.timer !== undefined || this.queue.length === 0) return
    const wait = Math.max(this.queue[0]!.due - performance.now(), this.flushMs / SLICES)
    this.timer = setTimeout(() => this.tick(), wait).unref()
  }

  private move (room: string, user: string, seq: number, announce: boolean, stored?: number): void {
    let users = this.pending.get(room)
    if (users === undefined) this.pending.set(room, users = new Map())
    const pending = users.get(user)
    if (pending === undefined) {
      const entry: PendingMove = { room, user, seq, announce, due: performance.now() + this.flushMs }
      if (stored !== undefined) entry.stored = stored
      users.set(user, entry)
      this.queue.push(entry)
      this.schedule()
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
    for (const move of moves) {
      if (move.announce && (moved.has(move) || move.stored === move.seq)) {
        this.hub.publish({ kind: 'read', room: move.room, user: move.user, seq: move.seq })
      }
    }
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
