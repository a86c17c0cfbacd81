import type { LocalStorage } from './local/storage.ts'
import type { PostgresStorage } from './postgres/storage.ts'
import type { RedisStorage } from './redis/storage.ts'

/**
 * A feature's storage on every engine: the way a feature keeps its data without the engine
 * knowing it. When an engine starts, before it serves anything, it calls the factory of its
 * kind once; the factory registers what the feature needs from the core's storage (its
 * migrations and tables on SQLite, its per-room keys and scripts on Redis, hooks that run inside
 * the core's own steps) and returns the feature's store: its port, the few methods the feature's
 * logic calls, the same on every engine.
 */
export interface StorageExtension<Port = unknown> {
  /** The feature's name: its migrations and keys are recorded under it. */
  name: string
  local: (storage: LocalStorage) => Port
  redis: (storage: RedisStorage) => Port
  postgres?: (storage: PostgresStorage) => Port
}

/** What an append hook sees of a message about to be stored, or just stored. */
export interface AppendedMessage {
  room: string
  seq: number
  user: string
  /** The message as stored: the core's fields and every feature's. */
  message: Record<string, unknown>
}

/** A refusal of a message by a feature's check (its root is gone, say): nothing is stored. */
export class Refused extends Error {
  override name = 'Refused'
  readonly code: 'not_found' | 'forbidden' | 'bad_request'

  constructor (code: 'not_found' | 'forbidden' | 'bad_request', message: string) {
    super(message)
    this.code = code
  }
}
