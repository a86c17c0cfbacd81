import type { Database } from 'better-sqlite3'
import type { Message } from '../../schemas/common.ts'
import type { RoomEvent } from '../events.ts'

/** A message about to be stored: what a check sees (its seq is not taken yet). */
export interface DraftMessage {
  room: string
  user: string
  text: string
  /** The features' fields it carries (replyTo, mentions…). */
  fields: Record<string, unknown>
}

/**
 * A feature's part in every append, run inside the append's transaction. `fields` limits it to
 * messages carrying one of them (a plain message then costs the hook nothing).
 */
export interface LocalAppendHook {
  fields?: string[]
  /** Before the seq is taken: throw `Refused` to refuse the message; nothing is stored. */
  check?: (draft: DraftMessage) => void
  /** After the message is stored: what it returns (unless undefined) is the append's effect under the feature's name. */
  stored?: (message: Message) => unknown
}

/**
 * What the SQLite engine offers a feature's storage (StorageExtension.local). Everything runs on
 * the one connection, so a feature's writes and the core's share transactions: a hook's writes
 * commit with the message or change that caused them, or not at all.
 */
export interface LocalStorage {
  readonly db: Database
  /**
   * Brings the feature's tables to `migrations.length`: each entry, in order, moves its version
   * from i to i + 1 in a transaction of its own. A database whose version of the feature is
   * newer than this release knows is refused (naming CHAT_DB). Tables keyed by room should
   * reference rooms(id) ON DELETE CASCADE: they then go with the room.
   */
  migrate (name: string, migrations: string[]): void
  readonly messages: {
    /** The retained message at seq, with every feature's fields; undefined when there is none. */
    get (room: string, seq: number): Message | undefined
    /** The room's latest seq; undefined when the room does not exist. */
    latestSeq (room: string): number | undefined
    /**
     * Inside a transaction: writes `after` over the message (its text and its features' fields;
     * the core's other fields never change), records the change so that a join with `since`
     * replays it, and runs the change hooks. Call it for every change of a stored message.
     */
    save (before: Message, after: Message): void
  }
  /** A feature's part in appends, under its name (see LocalAppendHook). */
  onAppend (name: string, hook: LocalAppendHook): void
  /** Runs inside every `messages.save`, after the write: a feature keeps its data in step with a change. */
  onChange (hook: (before: Message, after: Message) => void): void
  /**
   * Runs inside the transaction that trimmed the room's history, with the first seq still
   * retained: data a feature keeps per message below it may go. Called when that seq passes a
   * multiple of 64 and whenever a room's limit is lowered, so a message's append pays for none.
   */
  onTrim (hook: (room: string, keepFrom: number) => void): void
  /** Inside the change's transaction: records a webhook event when its type is selected. */
  record (type: string, room: string, time: string, data: object): void
  /** Hands an event to this process's subscribers (members); call it once the change is committed. */
  publish (event: RoomEvent): void
}
