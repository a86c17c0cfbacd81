import type { RedisClient } from './connection.ts'

/**
 * A feature's part in every append, as Lua run inside the append script. `fields` limits it to
 * messages carrying one of them: the script decodes a message only for hooks that need it.
 *
 * - `check`: `function (draft)` run before the seq is taken, where `draft.user` is the sender
 *   and `draft.message()` the message decoded (its seq 0). It returns nil to let the message
 *   be stored, or `{code, message}` (code `not_found`, `forbidden` or `bad_request`) to refuse it.
 * - `stored`: `function (m)` run after the message is stored, where `m.seq`, `m.user`, `m.time`,
 *   `m.member` (the stored JSON) and `m.message()` (decoded) describe it. What it returns
 *   (a number or a string; nil for none) is the append's effect under the feature's name.
 */
export interface RedisAppendHook {
  fields?: string[]
  check?: string
  stored?: string
}

/** Calls a room script: KEYS are the room's keys (then `extraKeys`), ARGV[1] the room id, then `args`. */
export type RoomScript<R> = (room: string, args: (string | number)[], extraKeys?: string[]) => Promise<R>

/**
 * What the Redis engine offers a feature's storage (StorageExtension.redis). A feature keeps its
 * data in keys of each room (same hash tag, so one slot on a cluster) and changes it in room
 * scripts: Lua with the core's library, so a change of a message, its recovery record, the
 * features' hooks and the event that announces it are one atomic step.
 *
 * The library, in every room script: `ROOM` (the room id), `K.<name>` (the room's keys: `room`,
 * `msgs`, `grants`, `presence`, `changes`, `outbox`, and every feature's), `CHANNEL`,
 * `message_at(seq)` (the stored JSON or nil), `decode`/`encode` (cjson), `latest_seq()`,
 * `save_changed(before, after)` (writes `after` over the message, records the change for
 * recovery, runs the change hooks; returns the new JSON), `publish_updated(json)`,
 * `publish_feature(name, data_json)`, `record(event_id, type, time, data_json)` (webhooks; an
 * empty id records nothing) and `now_ms()` (the Redis clock).
 */
export interface RedisStorage {
  readonly redis: RedisClient
  /**
   * A key of every room for this feature, `chat:{pN}:<name>:<room>`, deleted with the room and
   * passed to every room script as `K.<name>`. Returns how to name it for a room.
   */
  roomKey (name: string): (room: string) => string
  /** A room script: `lua` runs after the library. Defined when the engine starts; call it once the engine is up. */
  roomScript<R = unknown> (name: string, lua: string, options?: { extraKeys?: number }): RoomScript<R>
  /** A feature's part in appends, under its name (see RedisAppendHook). */
  onAppend (name: string, hook: RedisAppendHook): void
  /** `function (before, after)` run by `save_changed` after the write, for every change of a message. */
  onChange (lua: string): void
  /**
   * `function (keep_from)` run by the script that trimmed the room's history, with the first seq
   * still retained, when that seq passes a multiple of 64 and whenever the room's limit is
   * lowered: data a feature keeps per message below it may go.
   */
  onTrim (lua: string): void
  /** The id to record a webhook event of this type under, or '' when it is not recorded. */
  eventId (type: string): string
}
