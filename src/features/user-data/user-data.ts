import type { ChatStore } from '../../engine/types.ts'
import type { Message } from '../../schemas/common.ts'
import type { UserMessagesStore } from './store.ts'

/** A part of a user's export that another feature keeps (roles, push subscriptions…). */
export type UserDataSection = (user: string) => Promise<unknown[]>

export interface UserDataOptions {
  store: UserMessagesStore
  rooms: Pick<ChatStore, 'grantedRooms'>
  readState: (user: string) => Promise<{ room: string, readSeq: number }[]>
  /** Deletes a message as an operator: a tombstone, `updated` to members, `message.deleted` to webhooks. */
  deleteMessage: (room: string, seq: number) => Promise<unknown>
}

/** Deletions in flight at once when a user's messages are erased: steady, without flooding storage. */
const DELETES_IN_FLIGHT = 16

/**
 * A user's data, for an operator answering the user: everything the service keeps about the
 * user (its messages, read state, grants, and what features add: roles…), and the deletion of
 * every message it wrote.
 */
export class UserData {
  private readonly sections = new Map<string, UserDataSection>()

  constructor (private readonly options: UserDataOptions) {}

  /** Adds a part of the export, kept by another feature, under `name`. */
  section (name: string, read: UserDataSection): void {
    this.sections.set(name, read)
  }

  async export (user: string): Promise<Record<string, unknown>> {
    const [messages, readState, grants] = await Promise.all([
      this.options.store.messagesOf(user), this.options.readState(user), this.options.rooms.grantedRooms(user)
    ])
    const parts: Record<string, unknown[]> = { roles: [], pushSubscriptions: [] }
    for (const [name, read] of this.sections) parts[name] = await read(user)
    return { user, exportedAt: new Date().toISOString(), messages, readState, grants, ...parts }
  }

  /** Deletes every retained message of the user not deleted yet; resolves how many. */
  async deleteMessages (user: string): Promise<number> {
    const live = (await this.options.store.messagesOf(user)).filter((message) => !isTombstone(message))
    let next = 0
    const worker = async () => {
      while (next < live.length) {
        const message = live[next++]!
        await this.options.deleteMessage(message.room, message.seq)
      }
    }
    await Promise.all(Array.from({ length: Math.min(DELETES_IN_FLIGHT, live.length) }, worker))
    return live.length
  }
}

function isTombstone (message: Message): boolean {
  return (message as { deleted?: unknown }).deleted === true
}
