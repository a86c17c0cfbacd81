import type { Message, RoomUnread } from '../../client/index.ts'

/** How many messages a history page asks for. */
export const PAGE_SIZE = 50

/** How far a message has gone: a deletion is final, and a higher version is a later edit. */
function progress (message: Message): number {
  return message.deleted === true ? Number.POSITIVE_INFINITY : message.version ?? 1
}

/**
 * What the page holds for one room: its messages by seq (so a message that arrives twice,
 * from history and live, is shown once, and a change replaces it), who is online and who is
 * typing, how far back history goes, and the user's read position for the unread count.
 */
export class RoomModel {
  readonly id: string
  readonly messages = new Map<number, Message>()
  readonly members = new Set<string>()
  /** The others typing now (the user's own id left out). */
  typing: string[] = []
  /** Nothing older than the oldest message held is left to load. */
  complete = false
  /** The room's latest seq as far as the page knows, and the user's read seq. */
  latestSeq = 0
  readSeq = 0
  /** A direct-message room: the other participants (shown as its name, in the "Direct messages" list). */
  dmWith: string[] | undefined
  /** The user's role here (`joined.role`): an owner or a moderator sees moderation controls. */
  role: 'owner' | 'moderator' | undefined
  /** What the server last said of the user's unread mentions here (`unread`), and as of which seqs. */
  private serverMentions: { count: number, readSeq: number, seq: number } | undefined

  constructor (id: string) {
    this.id = id
  }

  /**
   * Adds a message or replaces the one with its seq, unless the one held is newer (an edit or
   * delete seen before an older copy from history); true when what is held changed.
   */
  put (message: Message): boolean {
    const held = this.messages.get(message.seq)
    if (held !== undefined && progress(held) >= progress(message)) return false
    this.messages.set(message.seq, message)
    this.latestSeq = Math.max(this.latestSeq, message.seq)
    return true
  }

  /**
   * Applies an `updated` message to one held; one not held comes from history as it now is.
   * Reactions and a root's thread change without a new version: an `updated` of the same
   * version is the later state.
   */
  update (message: Message): boolean {
    const held = this.messages.get(message.seq)
    if (held === undefined || progress(held) > progress(message)) return false
    this.messages.set(message.seq, message)
    return true
  }

  /** The lowest seq held, the `before` of the next history page. */
  oldestSeq (): number | undefined {
    let oldest: number | undefined
    for (const seq of this.messages.keys()) if (oldest === undefined || seq < oldest) oldest = seq
    return oldest
  }

  /** The highest seq held: the newest message shown. */
  newestSeq (): number | undefined {
    let newest: number | undefined
    for (const seq of this.messages.keys()) if (newest === undefined || seq > newest) newest = seq
    return newest
  }

  sorted (): Message[] {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq)
  }

  get unread (): number {
    return Math.max(0, this.latestSeq - this.readSeq)
  }

  /** Takes in what the server says of the room's latest seq and the user's read seq; both only grow. */
  note (latestSeq: number, readSeq?: number): void {
    this.latestSeq = Math.max(this.latestSeq, latestSeq)
    if (readSeq !== undefined) this.readSeq = Math.max(this.readSeq, readSeq)
  }

  /** Takes in the server's count of unread messages that mention the user. */
  noteMentions ({ mentions, readSeq, seq }: RoomUnread): void {
    this.serverMentions = { count: mentions, readSeq, seq }
  }

  /**
   * Unread messages that mention `user`: counted on the messages held, so that new ones,
   * edits and reads show at once, plus, while the page does not hold every unread message
   * (history is loaded a page at a time), those of the server's last count it does not hold.
   */
  mentionsOf (user: string): number {
    const server = this.serverMentions
    let held = 0
    let heldCountedByServer = 0
    for (const message of this.messages.values()) {
      if (message.mentions?.includes(user) !== true) continue
      if (message.seq > this.readSeq) held++
      if (server !== undefined && message.seq > server.readSeq && message.seq <= server.seq) heldCountedByServer++
    }
    const holdsEveryUnread = this.readSeq + 1 >= (this.oldestSeq() ?? Number.POSITIVE_INFINITY)
    if (server === undefined || holdsEveryUnread || this.readSeq >= server.seq) return held
    return held + Math.max(0, server.count - heldCountedByServer)
  }

  /** Forgets the messages, when the server could not say what was missed. */
  reset (): void {
    this.messages.clear()
    this.complete = false
  }

  /** Starts the room's positions over: it was deleted and created again, or its data reset. */
  startOver (latestSeq: number, readSeq: number): void {
    this.latestSeq = latestSeq
    this.readSeq = readSeq
    this.serverMentions = undefined
  }

  /** Takes in a page of history; a short page means the start of the room was reached. */
  addPage (messages: Message[], limit: number): void {
    for (const message of messages) this.put(message)
    if (messages.length < limit || messages[0]?.seq === 1) this.complete = true
  }
}
