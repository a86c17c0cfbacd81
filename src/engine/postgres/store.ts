import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Pool } from 'pg'
import type { Message } from '../../schemas/common.ts'
import type { EventType } from '../../schemas/webhooks.ts'
import type { RoomEvent } from '../events.ts'
import type { StorageExtension } from '../extension.ts'
import { newRoomRecord, patchedRoom, roomObject } from '../shared/room-record.ts'
import type { ChatStore, Recovery, RoomInput, RoomPatch, RoomRecord, WebhookStore } from '../types.ts'
import { CLIENT_ID_TTL_MS, NotFoundError } from '../types.ts'
import { createPool } from './connection.ts'
import { fieldsJson, MESSAGE_COLUMNS, queryMessages } from './message-rows.ts'
import { migrateAll } from './migrations.ts'
import { createPostgresOutbox } from './outbox.ts'
import { createPgAppends, type NamedHook } from './pg-appends.ts'
import { startPgRetention } from './pg-retention.ts'
import { createPostgresWebhooks } from './webhooks.ts'
import type { PostgresStorage, Sql } from './storage.ts'
import { inTransaction, type Tx } from './transactions.ts'

interface RoomRow {
  id: string
  name: string
  private: boolean
  history_limit: number | null
  slow_mode_ms: number
  retention_days: number | null
  created_at: string
  last_seq: number
}

const ROOM_COLUMNS = 'id, name, private, history_limit, slow_mode_ms, retention_days, created_at, last_seq'

const toRecord = (row: RoomRow): RoomRecord => ({
  id: row.id,
  name: row.name,
  private: row.private,
  historyLimit: row.history_limit,
  slowModeMs: row.slow_mode_ms,
  retentionDays: row.retention_days,
  createdAt: row.created_at
})

export interface PostgresStoreOptions {
  /** CHAT_DATABASE_URL. */
  url: string
  defaultHistoryLimit: number
  defaultRetentionDays?: number
  clientIdTtlMs?: number
  /** Event types to record in the outbox with each change; none when absent. */
  events?: ReadonlySet<EventType>
  /** Who is online, for the events that say so: this node's memory (PostgreSQL alone), or Redis (set later by `usePresence`). */
  presence?: Presence
  /** Hands an event to every node's members (the broker). */
  publish?: (event: RoomEvent) => void
  /** This node's name in webhook leases. */
  nodeId?: string
  /** Connections in the pool. */
  poolSize?: number
}

/** Who is online in a room: in this process (read at once) or in Redis (read with a round trip). */
export interface Presence {
  users (room: string): number | Promise<number>
  has (room: string, user: string): boolean | Promise<boolean>
}

export interface PostgresStore extends ChatStore {
  /** Where presence is read from, once it is known (the Redis broker's counts). */
  usePresence (presence: Presence): void
  webhooks: WebhookStore
  storage: PostgresStorage
  /** Records an event of a change kept outside the database (presence). */
  /** Resolves once recorded (never rejects: an event that could not be recorded is dropped, as presence is in memory). */
  recordEvent (type: EventType, room: string, time: string, data: object): Promise<void>
  /**
   * Builds the features' ports (their migrations and hooks registered), then migrates the
   * database and starts the timers. Call once, before anything else.
   */
  start (extensions: StorageExtension[]): Promise<Map<StorageExtension, unknown>>
}

/**
 * Rooms, grants and history in PostgreSQL, shared by every node of a deployment. A room's row
 * is its lock: appends (postgres/pg-appends.ts) and every change of the room's messages
 * (`inRoom`) take it, so seqs are assigned in commit order, once, and a read-modify-write of a
 * message never interleaves with another. Reads take no lock.
 */
export function createPostgresStore (options: PostgresStoreOptions): PostgresStore {
  const pool: Pool = createPool(options.url, options.poolSize)
  const outbox = createPostgresOutbox(options.events)
  let presence = options.presence
  const roomEvent = async (record: RoomRecord) => roomObject(record, options.defaultHistoryLimit, await presence?.users(record.id) ?? 0)
  const limitOf = (historyLimit: number | null) => {
    const limit = historyLimit ?? options.defaultHistoryLimit
    return limit === 0 ? Infinity : limit
  }
  const publish = (event: RoomEvent) => options.publish?.(event)
  const sql: Sql = pool as unknown as Sql

  const migrations: { name: string, migrations: string[] }[] = []
  const appendHooks: NamedHook[] = []
  const changeHooks: ((tx: Sql, before: Message, after: Message) => Promise<void>)[] = []
  const trimHooks: ((tx: Sql, room: string, keepFrom: number) => Promise<void>)[] = []
  const runTrimHooks = async (tx: Sql, room: string, keepFrom: number) => {
    for (const hook of trimHooks) await hook(tx, room, keepFrom)
  }

  const transaction = <T>(work: (tx: Tx) => Promise<T>) => inTransaction(pool, work)
  /** A transaction holding the room's row: the room's lock. Resolves undefined (running nothing) when the room does not exist. */
  const lockRoom = async (tx: Sql, room: string): Promise<RoomRow | undefined> =>
    (await tx.query<RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE id = $1 FOR NO KEY UPDATE`, [room])).rows[0]

  const messageAt = async (q: Sql, room: string, seq: number) =>
    (await queryMessages(q, `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = $1 AND seq = $2`, [room, seq]))[0]

  const storage: PostgresStorage = {
    sql,
    migrate: (name, list) => { migrations.push({ name, migrations: list }) },
    inRoom: (room, change) => transaction(async (tx) => {
      await lockRoom(tx, room)
      return await change(tx)
    }),
    transaction: (work) => transaction(work),
    messages: {
      get: messageAt,
      getMany: (q, room, seqs) => seqs.length === 0
        ? Promise.resolve([])
        : queryMessages(q, `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = $1 AND seq = ANY($2::bigint[]) ORDER BY seq`, [room, seqs]),
      latestSeq: async (q, room) => (await q.query<{ seq: number }>('SELECT last_seq AS seq FROM rooms WHERE id = $1', [room])).rows[0]?.seq,
      async save (tx, before, after) {
        await tx.query(`UPDATE messages SET text = $1, fields = $2::jsonb, changed_seq = (SELECT last_seq FROM rooms WHERE id = $3)
          WHERE room = $3 AND seq = $4`, [after.text, fieldsJson(after), after.room, after.seq])
        for (const hook of changeHooks) await hook(tx, before, after)
      }
    },
    onAppend: (name, hook) => { appendHooks.push({ ...hook, name }) },
    onChange: (hook) => { changeHooks.push(hook) },
    onTrim: (hook) => { trimHooks.push(hook) },
    record: (tx, type, room, time, data) => outbox.record(tx, type, room, time, data),
    publish
  }

  const appends = createPgAppends({
    transaction,
    hooks: appendHooks,
    limitOf,
    clientIdTtlMs: options.clientIdTtlMs ?? CLIENT_ID_TTL_MS,
    outbox,
    runTrimHooks
  })
  const webhooks = createPostgresWebhooks({ pool, outbox, nodeId: options.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}` })
  let retention: ReturnType<typeof startPgRetention> | undefined
  let closed = false

  /** Retention (or a lowered limit) removes a room's messages up to `seq`, with the features' data. */
  const trimTo = async (tx: Sql, room: string, seq: number) => {
    await tx.query('DELETE FROM messages WHERE room = $1 AND seq <= $2', [room, seq])
    await runTrimHooks(tx, room, seq + 1)
  }

  return {
    webhooks,
    storage,
    usePresence (online) {
      presence = online
    },
    async start (extensions) {
      const ports = new Map<StorageExtension, unknown>()
      for (const extension of extensions) {
        if (extension.postgres === undefined) throw new Error(`the feature ${extension.name} has no storage on PostgreSQL`)
        ports.set(extension, extension.postgres(storage))
      }
      try {
        await migrateAll(pool, migrations)
      } catch (err) {
        await pool.end()
        throw err
      }
      retention = startPgRetention({
        sql,
        defaultDays: options.defaultRetentionDays,
        expire: (room, seq) => storage.inRoom(room, (tx) => trimTo(tx, room, seq))
      })
      webhooks.start()
      return ports
    },
    async recordEvent (type, room, time, data) {
      if (closed || !outbox.wants(type)) return
      await outbox.record(sql, type, room, time, data).catch(() => {})
    },
    async createRoom (input: RoomInput) {
      const record = newRoomRecord(input)
      const created = await transaction(async (tx) => {
        const inserted = await tx.query(`INSERT INTO rooms (id, name, private, history_limit, slow_mode_ms, retention_days, created_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
        [record.id, record.name, record.private, record.historyLimit, record.slowModeMs, record.retentionDays, record.createdAt])
        if (inserted.rowCount !== 1) return false
        await outbox.record(tx, 'room.created', record.id, record.createdAt, await roomEvent(record))
        return true
      })
      if (!created) return undefined
      if (record.retentionDays !== null) retention?.changed()
      return record
    },
    async getRoom (id) {
      const row = (await pool.query<RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE id = $1`, [id])).rows[0]
      return row === undefined ? undefined : toRecord(row)
    },
    async listRooms (limit, afterId = '') {
      const { rows } = await pool.query<RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit + 1])
      return { rooms: rows.slice(0, limit).map(toRecord), hasMore: rows.length > limit }
    },
    async updateRoom (id, patch: RoomPatch) {
      const next = await transaction(async (tx) => {
        const row = await lockRoom(tx, id)
        if (row === undefined) return undefined
        const current = toRecord(row)
        const updated = patchedRoom(current, patch)
        await tx.query('UPDATE rooms SET name = $2, private = $3, history_limit = $4, slow_mode_ms = $5, retention_days = $6 WHERE id = $1',
          [id, updated.name, updated.private, updated.historyLimit, updated.slowModeMs, updated.retentionDays])
        const keepFrom = row.last_seq - limitOf(updated.historyLimit) + 1
        if (keepFrom > 1) await trimTo(tx, id, keepFrom - 1)
        await outbox.record(tx, 'room.updated', id, new Date().toISOString(), await roomEvent(updated))
        return updated
      })
      if (next !== undefined && patch.retentionDays !== undefined) retention?.changed()
      return next
    },
    async deleteRoom (id) {
      return await transaction(async (tx) => {
        const deleted = await tx.query('DELETE FROM rooms WHERE id = $1', [id])
        if (deleted.rowCount !== 1) return false
        await outbox.record(tx, 'room.deleted', id, new Date().toISOString(), { id })
        return true
      })
    },
    async setGrant (room, user) {
      try {
        await pool.query('INSERT INTO grants (room, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [room, user])
      } catch (err) {
        if ((err as { code?: string }).code === '23503') throw new NotFoundError(`room ${room} does not exist`)
        throw err
      }
    },
    async deleteGrant (room, user) {
      await transaction(async (tx) => {
        await tx.query('DELETE FROM grants WHERE room = $1 AND user_id = $2', [room, user])
        // The hub kicks the user's connections out of the room: that is the event, when there are any.
        if (await presence?.has(room, user) === true) {
          await outbox.record(tx, 'member.kicked', room, new Date().toISOString(), { user, reason: 'access revoked' })
        }
      })
    },
    async hasGrant (room, user) {
      return (await pool.query('SELECT 1 FROM grants WHERE room = $1 AND user_id = $2', [room, user])).rowCount === 1
    },
    async grantedRooms (user) {
      const { rows } = await pool.query<{ room: string }>('SELECT room FROM grants WHERE user_id = $1 ORDER BY room', [user])
      return rows.map((row) => row.room)
    },
    append (room, user, text, appendOptions = {}) {
      if (closed) return Promise.reject(new Error('store is closed'))
      return appends.append(room, user, text, appendOptions)
    },
    async latestSeq (room) {
      return (await storage.messages.latestSeq(sql, room)) ?? 0
    },
    async message (room, seq) {
      return await messageAt(sql, room, seq)
    },
    async history (room, limit, before) {
      const rows = before === undefined
        ? await queryMessages(sql, `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = $1 ORDER BY seq DESC LIMIT $2`, [room, limit])
        : await queryMessages(sql, `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, [room, before, limit])
      return rows.reverse()
    },
    async recover (room, since): Promise<Recovery> {
      // One snapshot: the latest seq, the changes and the messages agree with each other.
      return await transaction(async (tx) => {
        await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY')
        const row = (await tx.query<RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE id = $1`, [room])).rows[0]
        if (row === undefined) return { latestSeq: 0, changed: [], messages: [], recovered: since === 0 }
        const latestSeq = row.last_seq
        const upTo = Math.min(since, latestSeq)
        const changed = upTo === 0
          ? []
          : await queryMessages(tx, `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = $1 AND changed_seq >= $2 AND seq <= $2 ORDER BY seq`, [room, upTo])
        if (since >= latestSeq) return { latestSeq, changed, messages: [], recovered: since === latestSeq }
        const limit = limitOf(row.history_limit)
        const oldest = (await tx.query<{ seq: number | null }>('SELECT MIN(seq) AS seq FROM messages WHERE room = $1', [room])).rows[0]?.seq ?? null
        const messages = await queryMessages(tx, `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
          [room, since, limit === Infinity ? null : limit])
        return { latestSeq, changed, messages, recovered: oldest !== null && oldest <= since + 1 }
      })
    },
    async publishUpdated (room, seqs) {
      for (const message of await storage.messages.getMany(sql, room, seqs)) publish({ kind: 'updated', message })
    },
    async ready () {
      try {
        return (await pool.query('SELECT 1')).rowCount === 1
      } catch {
        return false
      }
    },
    async close () {
      if (closed) return
      closed = true
      retention?.stop()
      await appends.drain()
      await webhooks.close()
      await pool.end()
    }
  }
}
