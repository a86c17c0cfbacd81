import type { Message } from '../../schemas/common.ts'

/** The port of a user's messages: every retained message the user wrote, in every room. */
export interface UserMessagesStore {
  /** By room id, then seq; tombstones included (a deleted message stays a message of its author). */
  messagesOf (user: string): Promise<Message[]>
}
