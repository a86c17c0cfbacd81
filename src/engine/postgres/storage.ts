import type { Message } from '../../schemas/common.ts'
import type { RoomEvent } from '../events.ts'
import type { DraftMessage } from '../local/storage.ts'
import type { RedisStorage } from '../redis/storage.ts'

/** A row set as node-postgres returns it. */
export interface QueryResult<R> {
  rows: R[]
  rowCount: number | null
}

/**
 * Where a query runs: the pool (a read outside any transaction) or a transaction's client. Both
 * are node-postgres objects; a query inside a transaction must go to its client, never the pool.
 */
export interface Sql {
  query<R = Record<string, unknown>> (text: string, values?: unknown[]): Promise<QueryResult<R>>
}

/**
 * A feature's part in every append, run inside the append's transaction (the room's row is
 * locked: no other append or change of the room runs meanwhile, on any node). `fields` limits it
 * to messages carrying one of them (a plain message then costs the hook nothing).
 */
export interface PostgresAppendHook {
  fields?: string[]
  /** Before the seq is taken: throw `Refused` to refuse the message; nothing is stored. */
  check?: (tx: Sql, draft: DraftMessage) => Promise<void>
  /** After the message is stored: what it resolves (unless undefined) is the append's effect under the feature's name. */
  stored?: (tx: Sql, message: Message) => Promise<unknown>
}

/**
 * What the PostgreSQL engine offers a feature's storage (StorageExtension.postgres). Every node
 * of a deployment writes the same database, so a feature changes a room's data in
 * `inRoom(room, …)`: a transaction holding the room's row lock, which every append and every
 * change of the room takes too. A change, its recovery record, its hooks' writes and its webhook
 * event commit together or not at all, and changes of one room never interleave.
 */
export interface PostgresStorage {
  /** Reads outside a transaction. */
  readonly sql: Sql
  /**
   * Brings the feature's tables to `migrations.length` when the engine starts (each entry moves
   * its version from i to i + 1 in a transaction of its own, under a lock, so nodes starting
   * together migrate once). A database whose version of the feature is newer than this release
   * knows is refused (naming CHAT_DATABASE_URL). Tables keyed by room should reference rooms(id)
   * ON DELETE CASCADE: they then go with the room.
   */
  migrate (name: string, migrations: string[]): void
  /** Runs `change` in a transaction holding the room's lock; resolves with its result once committed. */
  inRoom<T> (room: string, change: (tx: Sql) => Promise<T>): Promise<T>
  /** Runs `work` in a transaction of its own (no room lock); resolves once committed. */
  transaction<T> (work: (tx: Sql) => Promise<T>): Promise<T>
  readonly messages: {
    /** The retained message at seq, with every feature's fields; undefined when there is none. */
    get (sql: Sql, room: string, seq: number): Promise<Message | undefined>
    /** Retained messages by seq (those not retained are left out), ascending. */
    getMany (sql: Sql, room: string, seqs: number[]): Promise<Message[]>
    /** The room's latest seq; undefined when the room does not exist. */
    latestSeq (sql: Sql, room: string): Promise<number | undefined>
    /**
     * Inside `inRoom`: writes `after` over the message (its text and its features' fields; the
     * core's other fields never change), records the change so that a join with `since` replays
     * it, and runs the change hooks. Call it for every change of a stored message.
     */
    save (tx: Sql, before: Message, after: Message): Promise<void>
  }
  /** A feature's part in appends, under its name (see PostgresAppendHook). */
  onAppend (name: string, hook: PostgresAppendHook): void
  /** Runs inside every `messages.save`, after the write: a feature keeps its data in step with a change. */
  onChange (hook: (tx: Sql, before: Message, after: Message) => Promise<void>): void
  /**
   * Runs inside the transaction that trimmed the room's history, with the first seq still
   * retained: data a feature keeps per message below it may go. Called when that seq passes a
   * multiple of 64 and whenever a room's limit is lowered or retention removed messages.
   */
  onTrim (hook: (tx: Sql, room: string, keepFrom: number) => Promise<void>): void
  /** Inside the change's transaction: records a webhook event when its type is selected. */
  record (tx: Sql, type: string, room: string, time: string, data: object): Promise<void>
  /** Hands an event to every node's members; call it once the change is committed. */
  publish (event: RoomEvent): void
  /**
   * Redis, when it carries events between nodes (CHAT_DATABASE_URL with REDIS_URL): a feature's
   * short-lived state shared by the nodes (typing) lives there. Absent: one node, in memory.
   */
  redis?: RedisStorage
}
