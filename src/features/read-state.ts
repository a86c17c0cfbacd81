import type { ChatStore, ReadMove, UnreadRoom } from '../engine/types.ts'
import type { ChatHub } from '../hub/chat-hub.ts'
import type { Connection } from '../hub/connection.ts'
import type { ReadFrame, ReadsFrame, UnreadFrame } from '../schemas/frames.ts'

/** How long moves of read seqs gather before they are written together (the contract allows 1 s). */
export const READ_FLUSH_MS = 1000

interface PendingMove extends ReadMove {
  /** Moved by a `read` frame, so the room hears of it (a user's own message moves it silently). */
  announce: boolean
}

/**
 * Read state: a forward-only read seq per (room, user). Moves are coalesced: all of one window
 * are written in one transaction (SQLite) or round trip (Redis), the latest per (room, user)
 * only, so a busy room costs one write per window instead of one per `read` frame. A move is
 * announced to the room only once written, so a `read` frame received means a durable read seq.
 * Queries first write what is pending, so a client always reads its own moves.
 */
export class ReadState {
  private readonly hub: ChatHub
  private readonly store: ChatStore
  private readonly flushMs: number
  /** Moves not yet written, by room and user: the latest per (room, user) only. */
  private pending = new Map<string, Map<string, PendingMove>>()
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> = Promise.resolve()
  /** First joins' read seqs of this event-loop turn, written together before their `joined` goes out. */
  private firstReads: { moves: ReadMove[], written: Promise<unknown> } | undefined

  constructor (hub: ChatHub, options: { flushMs?: number } = {}) {
    this.hub = hub
    this.store = hub.store
    this.flushMs = options.flushMs ?? READ_FLUSH_MS
    hub.on('sent', (connection, message) => this.move({ room: message.room, user: connection.user, seq: message.seq, announce: false }))
    hub.on('joining', (connection, room, latestSeq) => this.readSeqForJoin(room, connection.user, latestSeq))
  }

  async read (connection: Connection, frame: ReadFrame): Promise<void> {
    const { room, seq, ref } = frame
    if (!this.hub.isMember(connection, room)) return this.hub.reply(connection, 'not_member', `join room ${room} before marking it read`, ref)
    if (seq > this.hub.deliveredSeq(room) && seq > await this.store.latestSeq(room)) {
      return this.hub.reply(connection, 'bad_request', `read: seq ${seq} is past the room's latest seq`, ref)
    }
    this.move({ room, user: connection.user, seq, announce: true })
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
    if (this.pending.size === 0) return this.writing
    const moves: PendingMove[] = []
    for (const users of this.pending.values()) for (const move of users.values()) moves.push(move)
    this.pending = new Map()
    this.writing = this.writing.then(() => this.write(moves))
    return this.writing
  }

  async close (): Promise<void> {
    await this.flush()
  }

  private move (move: PendingMove): void {
    let users = this.pending.get(move.room)
    if (users === undefined) this.pending.set(move.room, users = new Map())
    const pending = users.get(move.user)
    if (pending === undefined) users.set(move.user, { ...move })
    else {
      // A read frame below a move already pending moves nothing, so it announces nothing.
      if (move.announce && move.seq >= pending.seq) pending.announce = true
      pending.seq = Math.max(pending.seq, move.seq)
    }
    this.timer ??= setTimeout(() => { void this.flush() }, this.flushMs).unref()
  }

  private async write (moves: PendingMove[]): Promise<void> {
    let moved: PendingMove[]
    try {
      moved = await this.store.saveReads(moves)
    } catch {
      // Storage failed: keep the moves for the next window rather than lose them.
      for (const move of moves) this.move(move)
      return
    }
    for (const move of moved) {
      if (move.announce) this.hub.publish({ kind: 'read', room: move.room, user: move.user, seq: move.seq })
    }
  }

  /**
   * `readSeq` for the joined frame; a user's first join of a room reads it up to its latest
   * seq. That first read seq is durable before `joined` announces it (a crash must not turn the
   * next join into a first one, marking everything in between read); the first joins of one
   * event-loop turn share one write, so a join storm costs one transaction, not one each.
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
      const written = new Promise<ReadMove[]>((resolve, reject) => setImmediate(() => {
        this.firstReads = undefined
        this.store.saveReads(moves).then(resolve, reject)
      }))
      this.firstReads = batch = { moves, written }
    }
    batch.moves.push(move)
    return batch.written
  }
}
