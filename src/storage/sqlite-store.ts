import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import type { Message } from '../schemas/common.ts'
import type { ChatStore, Recovery, RoomInput, RoomPatch, RoomRecord } from '../engine/types.ts'
import { NotFoundError } from '../engine/types.ts'
import { migrate } from './migrations.ts'

interface RoomRow {
  id: string
  name: string
  private: number
  historyLimit: number | null
  createdAt: string
}

interface PendingAppend {
  room: string
  user: string
  text: string
  resolve: (message: Message) => void
  reject: (error: Error) => void
}

const toRecord = (row: RoomRow): RoomRecord => ({ ...row, private: row.private === 1 })

const ROOM_COLUMNS = 'id, name, private, history_limit AS historyLimit, created_at AS createdAt'
const MESSAGE_COLUMNS = 'room, seq, id, user, text, time'

/**
 * Rooms, grants and history in SQLite. Appends are batched: every message that arrives in
 * one turn of the event loop is written in a single transaction on the next turn, so a burst
 * costs one commit instead of one per message, and callers hear back only after the commit.
 */
export function createSqliteStore(options: { path: string, defaultHistoryLimit: number }): ChatStore {
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
    insertRoom: db.prepare(`INSERT INTO rooms (id, name, private, history_limit, created_at)
      VALUES (@id, @name, @private, @historyLimit, @createdAt) ON CONFLICT(id) DO NOTHING`),
    getRoom: db.prepare<[string], RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE id = ?`),
    listRooms: db.prepare<[string, number], RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE id > ? ORDER BY id LIMIT ?`),
    updateRoom: db.prepare(`UPDATE rooms SET name = @name, private = @private, history_limit = @historyLimit WHERE id = @id`),
    deleteRoom: db.prepare<[string]>('DELETE FROM rooms WHERE id = ?'),
    setGrant: db.prepare<[string, string]>('INSERT INTO grants (room, user) VALUES (?, ?) ON CONFLICT DO NOTHING'),
    deleteGrant: db.prepare<[string, string]>('DELETE FROM grants WHERE room = ? AND user = ?'),
    hasGrant: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM grants WHERE room = ? AND user = ?'),
    seqState: db.prepare<[string], { lastSeq: number, historyLimit: number | null }>(
      'SELECT last_seq AS lastSeq, history_limit AS historyLimit FROM rooms WHERE id = ?'),
    setSeq: db.prepare<[number, string]>('UPDATE rooms SET last_seq = ? WHERE id = ?'),
    insertMessage: db.prepare<[string, number, string, string, string, string]>(
      'INSERT INTO messages (room, seq, id, user, text, time) VALUES (?, ?, ?, ?, ?, ?)'),
    trim: db.prepare<[string, number]>('DELETE FROM messages WHERE room = ? AND seq <= ?'),
    newest: db.prepare<[string, number], Message>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = ? ORDER BY seq DESC LIMIT ?`),
    newestBefore: db.prepare<[string, number, number], Message>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?`),
    after: db.prepare<[string, number, number], Message>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?`),
    oldest: db.prepare<[string], { seq: number | null }>('SELECT MIN(seq) AS seq FROM messages WHERE room = ?')
  }

  const limitOf = (historyLimit: number | null) => historyLimit ?? options.defaultHistoryLimit
  let queue: PendingAppend[] = []
  let flushScheduled = false
  let closed = false

  const writeBatch = db.transaction((batch: PendingAppend[]) => {
    const results: (Message | Error)[] = []
    const rooms = new Map<string, { lastSeq: number, historyLimit: number | null }>()
    for (const pending of batch) {
      let state = rooms.get(pending.room)
      if (state === undefined) {
        state = statements.seqState.get(pending.room)
        if (state === undefined) {
          results.push(new NotFoundError(`room ${pending.room} does not exist`))
          continue
        }
        rooms.set(pending.room, state)
      }
      const message: Message = {
        room: pending.room,
        seq: ++state.lastSeq,
        id: randomUUID(),
        user: pending.user,
        text: pending.text,
        time: new Date().toISOString()
      }
      statements.insertMessage.run(message.room, message.seq, message.id, message.user, message.text, message.time)
      results.push(message)
    }
    for (const [room, state] of rooms) {
      statements.setSeq.run(state.lastSeq, room)
      statements.trim.run(room, state.lastSeq - limitOf(state.historyLimit))
    }
    return results
  })

  function flush(): void {
    flushScheduled = false
    if (queue.length === 0) return
    const batch = queue
    queue = []
    let results: (Message | Error)[]
    try {
      results = writeBatch(batch)
    } catch (error) {
      for (const pending of batch) pending.reject(error as Error)
      return
    }
    for (let i = 0; i < batch.length; i++) {
      const result = results[i]!
      if (result instanceof Error) batch[i]!.reject(result)
      else batch[i]!.resolve(result)
    }
  }

  function room(id: string): RoomRecord | undefined {
    const row = statements.getRoom.get(id)
    return row === undefined ? undefined : toRecord(row)
  }

  return {
    async createRoom(input: RoomInput) {
      const record: RoomRecord = {
        id: input.id,
        name: input.name ?? input.id,
        private: input.private ?? false,
        historyLimit: input.historyLimit ?? null,
        createdAt: new Date().toISOString()
      }
      const { changes } = statements.insertRoom.run({ ...record, private: record.private ? 1 : 0 })
      return changes === 1 ? record : undefined
    },
    async getRoom(id) {
      return room(id)
    },
    async listRooms(limit, afterId = '') {
      const rows = statements.listRooms.all(afterId, limit + 1)
      return { rooms: rows.slice(0, limit).map(toRecord), hasMore: rows.length > limit }
    },
    async updateRoom(id, patch: RoomPatch) {
      const current = room(id)
      if (current === undefined) return undefined
      const next: RoomRecord = {
        ...current,
        name: patch.name ?? current.name,
        private: patch.private ?? current.private,
        historyLimit: patch.historyLimit === undefined ? current.historyLimit : patch.historyLimit
      }
      db.transaction(() => {
        statements.updateRoom.run({ id, name: next.name, private: next.private ? 1 : 0, historyLimit: next.historyLimit })
        const state = statements.seqState.get(id)!
        statements.trim.run(id, state.lastSeq - limitOf(next.historyLimit))
      })()
      return next
    },
    async deleteRoom(id) {
      // Pending appends to this room fail with NotFoundError when their batch is written.
      return statements.deleteRoom.run(id).changes === 1
    },
    async setGrant(roomId, user) {
      statements.setGrant.run(roomId, user)
    },
    async deleteGrant(roomId, user) {
      statements.deleteGrant.run(roomId, user)
    },
    async hasGrant(roomId, user) {
      return statements.hasGrant.get(roomId, user) !== undefined
    },
    append(roomId, user, text) {
      if (closed) return Promise.reject(new Error('store is closed'))
      return new Promise<Message>((resolve, reject) => {
        queue.push({ room: roomId, user, text, resolve, reject })
        if (!flushScheduled) {
          flushScheduled = true
          setImmediate(flush)
        }
      })
    },
    async latestSeq(roomId) {
      return statements.seqState.get(roomId)?.lastSeq ?? 0
    },
    async history(roomId, limit, before) {
      const rows = before === undefined
        ? statements.newest.all(roomId, limit)
        : statements.newestBefore.all(roomId, before, limit)
      return rows.reverse()
    },
    async recover(roomId, since): Promise<Recovery> {
      const state = statements.seqState.get(roomId)
      if (state === undefined) return { latestSeq: 0, messages: [], recovered: since === 0 }
      const latestSeq = state.lastSeq
      if (since >= latestSeq) return { latestSeq, messages: [], recovered: since === latestSeq }
      const oldest = statements.oldest.get(roomId)?.seq ?? null
      const messages = statements.after.all(roomId, since, limitOf(state.historyLimit))
      return { latestSeq, messages, recovered: oldest !== null && oldest <= since + 1 }
    },
    async ready() {
      try {
        return db.prepare('SELECT 1').pluck().get() === 1
      } catch {
        return false
      }
    },
    async close() {
      if (closed) return
      closed = true
      flush()
      db.close()
    }
  }
}
