import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import type { Message } from '../../schemas/common.ts'
import type { EventType } from '../../schemas/webhooks.ts'
import type { RoomEvent } from '../events.ts'
import { Refused } from '../extension.ts'
import { createAppendBatcher, type PendingAppend } from '../shared/append-batcher.ts'
import { newRoomRecord, patchedRoom, roomObject } from '../shared/room-record.ts'
import type { Appended, ChatStore, Recovery, RoomInput, RoomPatch, RoomRecord, WebhookStore } from '../types.ts'
import { CLIENT_ID_TTL_MS, NotFoundError } from '../types.ts'
import { fieldsOf, MESSAGE_COLUMNS, messageQuery } from './message-rows.ts'
import { migrate, migrateFeature } from './migrations.ts'
import { startCheckpointer } from './sqlite-checkpointer.ts'
import { startRetention } from './sqlite-retention.ts'
import { createSqliteOutbox } from './sqlite-outbox.ts'
import { createSqliteSends, type SendRow } from './sqlite-sends.ts'
import { createSqliteWebhooks } from './sqlite-webhooks.ts'
import type { LocalAppendHook, LocalStorage } from './storage.ts'

interface RoomRow {
  id: string
  name: string
  private: number
  historyLimit: number | null
  slowModeMs: number
  retentionDays: number | null
  createdAt: string
}

interface SeqState {
  lastSeq: number
  /** The room as stored, so a join or a history read finds it without a query. */
  record: RoomRecord
}

const toRecord = (row: RoomRow): RoomRecord => ({ ...row, private: row.private === 1 })

const ROOM_COLUMNS = 'id, name, private, history_limit AS historyLimit, slow_mode_ms AS slowModeMs, retention_days AS retentionDays, created_at AS createdAt'

/** Trim hooks run when the first retained seq passes a multiple of this: a message's append pays for none. */
const TRIM_HOOK_EVERY = 64

export interface SqliteStoreOptions {
  path: string
  defaultHistoryLimit: number
  /** CHAT_RETENTION_DAYS: messages older than this are removed; unset, only rooms' own periods apply. */
  defaultRetentionDays?: number
  /** How long a clientId is remembered (CLIENT_ID_TTL_MS; shorter only in tests). */
  clientIdTtlMs?: number
  /** How often the WAL is checkpointed (CHECKPOINT_INTERVAL_MS; shorter only in tests). */
  checkpointIntervalMs?: number
  /** Event types to record in the outbox with each change; none when absent. */
  events?: ReadonlySet<EventType>
  /** Who is online, for the events that say so (presence lives in this process's memory). */
  presence?: LocalPresence
  /** Hands an event to this process's subscribers (the local broker); none when absent (the store alone). */
  publish?: (event: RoomEvent) => void
}

/** The local broker's presence, read synchronously inside a transaction. */
export interface LocalPresence {
  /** Distinct users online in the room. */
  users (room: string): number
  /** Whether the user has a connection in the room. */
  has (room: string, user: string): boolean
}

export interface SqliteStore extends ChatStore {
  webhooks: WebhookStore
  /** What features' storage builds on (StorageExtension.local). */
  storage: LocalStorage
  /** Records an event of a change kept outside the database (presence, in this process's memory). */
  recordEvent (type: EventType, room: string, time: string, data: object): void
}

interface NamedHook extends LocalAppendHook { name: string }

/**
 * Rooms, grants and history in SQLite. Appends are batched: every message that arrives in one
 * turn of the event loop is written in a single transaction on the next turn, so a burst costs
 * one commit instead of one per message, and callers hear back only after the commit. Features'
 * tables live in the same database, on the same connection (see LocalStorage): their hooks run
 * inside the core's transactions.
 */
export function createSqliteStore (options: SqliteStoreOptions): SqliteStore {
  const clientIdTtlMs = options.clientIdTtlMs ?? CLIENT_ID_TTL_MS
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true })
  const db = new BetterSqlite3(options.path)
  db.pragma('journal_mode = WAL')
  // NORMAL in WAL mode: a commit is in the WAL before it returns, so it survives the process
  // being killed; only a power loss can drop the last commits.
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  try {
    migrate(db)
  } catch (err) {
    db.close()
    throw err
  }

  const statements = {
    insertRoom: db.prepare(`INSERT INTO rooms (id, name, private, history_limit, slow_mode_ms, retention_days, created_at)
      VALUES (@id, @name, @private, @historyLimit, @slowModeMs, @retentionDays, @createdAt) ON CONFLICT(id) DO NOTHING`),
    getRoom: db.prepare<[string], RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE id = ?`),
    listRooms: db.prepare<[string, number], RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE id > ? ORDER BY id LIMIT ?`),
    updateRoom: db.prepare(`UPDATE rooms SET name = @name, private = @private, history_limit = @historyLimit, slow_mode_ms = @slowModeMs,
      retention_days = @retentionDays WHERE id = @id`),
    seqFloor: db.prepare<[string], { seq: number }>('SELECT seq_floor AS seq FROM rooms WHERE id = ?'),
    setSeqFloor: db.prepare<[number, string]>('UPDATE rooms SET seq_floor = ? WHERE id = ?'),
    deleteRoom: db.prepare<[string]>('DELETE FROM rooms WHERE id = ?'),
    setGrant: db.prepare<[string, string]>('INSERT INTO grants (room, user) VALUES (?, ?) ON CONFLICT DO NOTHING'),
    deleteGrant: db.prepare<[string, string]>('DELETE FROM grants WHERE room = ? AND user = ?'),
    hasGrant: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM grants WHERE room = ? AND user = ?'),
    grantedRooms: db.prepare<[string], { room: string }>('SELECT room FROM grants WHERE user = ? ORDER BY room'),
    newestSeq: db.prepare<[string], { seq: number | null }>('SELECT MAX(seq) AS seq FROM messages WHERE room = ?'),
    insertMessage: db.prepare<[string, number, string, string, string, string, string | null, string | null]>(
      'INSERT INTO messages (room, seq, id, user, text, time, client_id, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    saveMessage: db.prepare<[string, string | null, number, string, number]>(
      'UPDATE messages SET text = ?, fields = ?, changed_seq = ? WHERE room = ? AND seq = ?'),
    messageAt: messageQuery<[string, number]>(db, `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = ? AND seq = ?`),
    trim: db.prepare<[string, number]>('DELETE FROM messages WHERE room = ? AND seq <= ?'),
    newest: messageQuery<[string, number]>(db,
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = ? ORDER BY seq DESC LIMIT ?`),
    newestBefore: messageQuery<[string, number, number]>(db,
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?`),
    after: messageQuery<[string, number, number]>(db,
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?`),
    changedUpTo: messageQuery<[string, number, number]>(db, `SELECT ${MESSAGE_COLUMNS} FROM messages
      WHERE room = ? AND changed_seq >= ? AND seq <= ? ORDER BY seq`),
    oldest: db.prepare<[string], { seq: number | null }>('SELECT MIN(seq) AS seq FROM messages WHERE room = ?')
  }

  /** The messages a room keeps: its own limit or the default; 0 means all of them. */
  const limitOf = (historyLimit: number | null) => {
    const limit = historyLimit ?? options.defaultHistoryLimit
    return limit === 0 ? Infinity : limit
  }
  let closed = false

  /**
   * Each room's record and latest seq, read once and then kept here: this process is the
   * database's only writer, so a commit need not also update a counter row, and a room needs
   * no query once it is known. A room always keeps at least its newest message, so MAX(seq)
   * is the latest seq after a restart.
   */
  const seqStates = new Map<string, SeqState>()
  function seqState (roomId: string): SeqState | undefined {
    let state = seqStates.get(roomId)
    if (state === undefined) {
      const row = statements.getRoom.get(roomId)
      if (row === undefined) return undefined
      const record = toRecord(row)
      // Retention may have removed every message: the latest seq is then the floor it kept.
      state = { lastSeq: Math.max(statements.newestSeq.get(roomId)?.seq ?? 0, statements.seqFloor.get(roomId)?.seq ?? 0), record }
      seqStates.set(roomId, state)
    }
    return state
  }

  const outbox = createSqliteOutbox(db, options.events)
  const webhooks = createSqliteWebhooks(db, outbox)
  const presence = options.presence
  const roomEvent = (record: RoomRecord) => roomObject(record, options.defaultHistoryLimit, presence?.users(record.id) ?? 0)
  const sends = createSqliteSends(db, clientIdTtlMs)

  // ---- what features build on -------------------------------------------------------------
  const appendHooks: NamedHook[] = []
  const changeHooks: ((before: Message, after: Message) => void)[] = []
  const trimHooks: ((room: string, keepFrom: number) => void)[] = []

  /** Hooks that apply to a message with these fields: those without a field list, and those naming one of them. */
  function hooksFor (fields: Record<string, unknown> | undefined): NamedHook[] {
    return appendHooks.filter((hook) => hook.fields === undefined || (fields !== undefined && hook.fields.some((field) => field in fields)))
  }
  const plainHooks = () => hooksFor(undefined)
  let plain: NamedHook[] = []

  function runTrimHooks (room: string, keepFrom: number): void {
    for (const hook of trimHooks) hook(room, keepFrom)
  }

  const storage: LocalStorage = {
    db,
    migrate: (name, migrations) => migrateFeature(db, name, migrations),
    messages: {
      get: (room, seq) => statements.messageAt.get(room, seq),
      latestSeq: (room) => seqState(room)?.lastSeq,
      save (before, after) {
        const latest = seqState(after.room)?.lastSeq ?? after.seq
        statements.saveMessage.run(after.text, fieldsOf(after), latest, after.room, after.seq)
        for (const hook of changeHooks) hook(before, after)
      }
    },
    onAppend (name, hook) {
      appendHooks.push({ ...hook, name })
      plain = plainHooks()
    },
    onChange: (hook) => { changeHooks.push(hook) },
    onTrim: (hook) => { trimHooks.push(hook) },
    record: (type, room, time, data) => outbox.record(type, room, time, data),
    publish: (event) => options.publish?.(event)
  }

  /** The message a repeated clientId refers to, as it is now; rebuilt from the send when trimmed. */
  function firstSend (pending: PendingAppend, send: SendRow): Appended {
    const message = statements.messageAt.get(pending.room, send.seq) ??
      { room: pending.room, seq: send.seq, id: send.id, user: pending.user, text: pending.text, time: send.time, clientId: pending.clientId }
    return { message, duplicate: true }
  }

  /** Stores one message of a batch, or says why not. */
  function store (pending: PendingAppend, state: SeqState): Appended | Error {
    const { clientId, fields } = pending
    if (clientId !== undefined) {
      // A repeat in the same batch finds the first one's row: this transaction wrote it.
      const send = sends.find(pending.room, pending.user, clientId)
      if (send !== undefined) return firstSend(pending, send)
    }
    const hooks = fields === undefined ? plain : hooksFor(fields)
    for (const hook of hooks) {
      try {
        hook.check?.({ room: pending.room, user: pending.user, text: pending.text, fields: fields ?? {} })
      } catch (err) {
        if (err instanceof Refused) return err
        throw err
      }
    }
    const message: Message = {
      room: pending.room,
      seq: ++state.lastSeq,
      id: randomUUID(),
      user: pending.user,
      text: pending.text,
      time: new Date().toISOString()
    }
    if (clientId !== undefined) message.clientId = clientId
    if (fields !== undefined) Object.assign(message, fields)
    statements.insertMessage.run(message.room, message.seq, message.id, message.user, message.text, message.time,
      clientId ?? null, fields === undefined ? null : JSON.stringify(fields))
    if (clientId !== undefined) sends.remember(message.room, message.user, clientId, message.seq, message.id, message.time)
    outbox.record('message.created', message.room, message.time, message)
    let effects: Record<string, unknown> | undefined
    for (const hook of hooks) {
      const effect = hook.stored?.(message)
      if (effect !== undefined) (effects ??= {})[hook.name] = effect
    }
    return effects === undefined ? { message, duplicate: false } : { message, duplicate: false, effects }
  }

  const writeBatch = db.transaction((batch: PendingAppend[]) => {
    const results: (Appended | Error)[] = []
    /** Each room of the batch, with its latest seq before the batch. */
    const rooms = new Map<string, { state: SeqState, before: number }>()
    let remembered = 0
    for (const pending of batch) {
      let entry = rooms.get(pending.room)
      if (entry === undefined) {
        const state = seqState(pending.room)
        if (state === undefined) {
          results.push(new NotFoundError(`room ${pending.room} does not exist`))
          continue
        }
        rooms.set(pending.room, entry = { state, before: state.lastSeq })
      }
      const result = store(pending, entry.state)
      if (!(result instanceof Error) && !result.duplicate && pending.clientId !== undefined) remembered++
      results.push(result)
    }
    for (const [room, { state, before }] of rooms) {
      const limit = limitOf(state.record.historyLimit)
      const keepFrom = state.lastSeq - limit + 1
      if (keepFrom <= 1) continue
      statements.trim.run(room, keepFrom - 1)
      if (Math.floor(keepFrom / TRIM_HOOK_EVERY) > Math.floor((before - limit + 1) / TRIM_HOOK_EVERY)) runTrimHooks(room, keepFrom)
    }
    // Forgetting expired clientIds a few rows at a time, in the transactions that add new ones,
    // keeps the table near its window without one long pass that would stall the event loop.
    if (remembered > 0) sends.sweep(remembered)
    return results
  })

  const batcher = createAppendBatcher((batch) => {
    let results: (Appended | Error)[]
    try {
      results = writeBatch(batch)
    } catch (error) {
      // Rolled back: the seqs counted in memory for this batch were never stored, nor its events.
      for (const pending of batch) seqStates.delete(pending.room)
      sends.rolledBack()
      for (const pending of batch) pending.reject(error as Error)
      outbox.recount()
      return
    }
    for (let i = 0; i < batch.length; i++) {
      const result = results[i]!
      if (result instanceof Error) batch[i]!.reject(result)
      else batch[i]!.resolve(result)
    }
  })
  const checkpointer = options.path === ':memory:' ? undefined : startCheckpointer(db, options.path, batcher, options.checkpointIntervalMs)

  function room (id: string): RoomRecord | undefined {
    return seqState(id)?.record
  }

  const insertRoom = db.transaction((record: RoomRecord) => {
    if (statements.insertRoom.run({ ...record, private: record.private ? 1 : 0 }).changes !== 1) return false
    outbox.record('room.created', record.id, record.createdAt, roomEvent(record))
    return true
  })
  const removeRoom = db.transaction((id: string) => {
    if (statements.deleteRoom.run(id).changes !== 1) return false
    outbox.record('room.deleted', id, new Date().toISOString(), { id })
    return true
  })
  const revoke = db.transaction((roomId: string, user: string) => {
    statements.deleteGrant.run(roomId, user)
    // The hub kicks the user's connections out of the room: that is the event, when there are any.
    if (presence?.has(roomId, user) === true) {
      outbox.record('member.kicked', roomId, new Date().toISOString(), { user, reason: 'access revoked' })
    }
  })
  /** Retention removes a room's messages up to `seq`; taking the newest, it keeps the latest seq as the room's floor. */
  const expire = db.transaction((roomId: string, seq: number) => {
    const state = seqState(roomId)
    if (state === undefined) return
    if (seq >= state.lastSeq) statements.setSeqFloor.run(state.lastSeq, roomId)
    statements.trim.run(roomId, seq)
    runTrimHooks(roomId, seq + 1)
  })
  const retention = startRetention({ db, defaultDays: options.defaultRetentionDays, expire })

  const patchRoom = db.transaction((id: string, next: RoomRecord, lastSeq: number) => {
    statements.updateRoom.run({ id, name: next.name, private: next.private ? 1 : 0, historyLimit: next.historyLimit, slowModeMs: next.slowModeMs, retentionDays: next.retentionDays })
    const keepFrom = lastSeq - limitOf(next.historyLimit) + 1
    if (keepFrom > 1) {
      statements.trim.run(id, keepFrom - 1)
      runTrimHooks(id, keepFrom)
    }
    outbox.record('room.updated', id, new Date().toISOString(), roomEvent(next))
  })

  return {
    webhooks,
    storage,
    recordEvent (type, room, time, data) {
      if (!closed) outbox.record(type, room, time, data)
    },
    async createRoom (input: RoomInput) {
      const record = newRoomRecord(input)
      if (!insertRoom(record)) return undefined
      if (record.retentionDays !== null) retention.changed()
      return record
    },
    async getRoom (id) {
      return room(id)
    },
    async listRooms (limit, afterId = '') {
      const rows = statements.listRooms.all(afterId, limit + 1)
      return { rooms: rows.slice(0, limit).map(toRecord), hasMore: rows.length > limit }
    },
    async updateRoom (id, patch: RoomPatch) {
      const current = room(id)
      if (current === undefined) return undefined
      const next = patchedRoom(current, patch)
      const state = seqState(id)!
      patchRoom(id, next, state.lastSeq)
      state.record = next
      if (patch.retentionDays !== undefined) retention.changed()
      return next
    },
    async deleteRoom (id) {
      // Pending appends to this room fail with NotFoundError when their batch is written.
      seqStates.delete(id)
      return removeRoom(id)
    },
    async setGrant (roomId, user) {
      try {
        statements.setGrant.run(roomId, user)
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new NotFoundError(`room ${roomId} does not exist`)
        throw err
      }
    },
    async deleteGrant (roomId, user) {
      revoke(roomId, user)
    },
    async hasGrant (roomId, user) {
      return statements.hasGrant.get(roomId, user) !== undefined
    },
    async grantedRooms (user) {
      return statements.grantedRooms.all(user).map((row) => row.room)
    },
    append (roomId, user, text, appendOptions = {}) {
      if (closed) return Promise.reject(new Error('store is closed'))
      return batcher.append(roomId, user, text, appendOptions)
    },
    async latestSeq (roomId) {
      return seqState(roomId)?.lastSeq ?? 0
    },
    async message (roomId, seq) {
      return statements.messageAt.get(roomId, seq)
    },
    async history (roomId, limit, before) {
      const rows = before === undefined
        ? statements.newest.all(roomId, limit)
        : statements.newestBefore.all(roomId, before, limit)
      return rows.reverse()
    },
    async recover (roomId, since): Promise<Recovery> {
      const state = seqState(roomId)
      if (state === undefined) return { latestSeq: 0, changed: [], messages: [], recovered: since === 0 }
      const latestSeq = state.lastSeq
      const upTo = Math.min(since, latestSeq)
      // Retained messages up to `since` changed after message `since` was stored.
      const changed = upTo === 0 ? [] : statements.changedUpTo.all(roomId, upTo, upTo)
      if (since >= latestSeq) return { latestSeq, changed, messages: [], recovered: since === latestSeq }
      const oldest = statements.oldest.get(roomId)?.seq ?? null
      const limit = limitOf(state.record.historyLimit)
      // SQLite's LIMIT -1: no limit.
      const messages = statements.after.all(roomId, since, limit === Infinity ? -1 : limit)
      return { latestSeq, changed, messages, recovered: oldest !== null && oldest <= since + 1 }
    },
    async publishUpdated (roomId, seqs) {
      for (const seq of seqs) {
        const message = statements.messageAt.get(roomId, seq)
        if (message !== undefined) options.publish?.({ kind: 'updated', message })
      }
    },
    async ready () {
      try {
        return db.prepare('SELECT 1').pluck().get() === 1
      } catch {
        return false
      }
    },
    async close () {
      if (closed) return
      closed = true
      retention.stop()
      batcher.flush()
      webhooks.close()
      await checkpointer?.stop()
      db.close()
    }
  }
}
