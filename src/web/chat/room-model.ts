import type { Message } from '../../client/index.ts'

/** How many messages a history page asks for. */
export const PAGE_SIZE = 50

/**
 * What the page holds for one room: its messages by seq (so a message that arrives twice,
 * from history and live, is shown once), who is online, and how far back history goes.
 */
export class RoomModel {
  readonly id: string
  readonly messages = new Map<number, Message>()
  readonly members = new Set<string>()
  /** Nothing older than the oldest message held is left to load. */
  complete = false

  constructor (id: string) {
    this.id = id
  }

  /** Adds or replaces a message; true when its seq was not held yet. */
  put (message: Message): boolean {
    const known = this.messages.has(message.seq)
    this.messages.set(message.seq, message)
    return !known
  }

  /** The lowest seq held, the `before` of the next history page. */
  oldestSeq (): number | undefined {
    let oldest: number | undefined
    for (const seq of this.messages.keys()) if (oldest === undefined || seq < oldest) oldest = seq
    return oldest
  }

  sorted (): Message[] {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq)
  }

  /** Forgets the messages, when the server could not say what was missed. */
  reset (): void {
    this.messages.clear()
    this.complete = false
  }

  /** Takes in a page of history; a short page means the start of the room was reached. */
  addPage (messages: Message[], limit: number): void {
    for (const message of messages) this.put(message)
    if (messages.length < limit || messages[0]?.seq === 1) this.complete = true
  }
}
