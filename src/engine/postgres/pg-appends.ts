import { randomUUID } from 'node:crypto'
import type { Message } from '../../schemas/common.ts'
import { eventBody } from '../shared/event-body.ts'
import { Refused } from '../extension.ts'
import type { PendingAppend } from '../shared/append-batcher.ts'
import type { Appended, AppendOptions } from '../types.ts'
import { NotFoundError } from '../types.ts'
import { fieldsJson, MESSAGE_COLUMNS, queryMessages } from './message-rows.ts'
import type { PostgresOutbox } from './outbox.ts'
import type { PostgresAppendHook, Sql } from './storage.ts'
import type { Tx } from './transactions.ts'

export interface NamedHook extends PostgresAppendHook { name: string }

interface SendRow { room: string, user_id: string, client_id: string, seq: number, id: string, time: string }

interface RoomState { lastSeq: number, before: number, historyLimit: number | null }

export interface PgAppendsOptions {
  transaction: <T>(work: (tx: Tx) => Promise<T>) => Promise<T>
  hooks: NamedHook[]
  limitOf: (historyLimit: number | null) => number
  clientIdTtlMs: number
  outbox: PostgresOutbox
  runTrimHooks: (tx: Sql, room: string, keepFrom: number) => Promise<void>
}

/** Trim hooks run when the first retained seq passes a multiple of this: a message's append pays for none. */
const TRIM_HOOK_EVERY = 64
/** Expired clientIds forgotten per clientId remembered: the table stays near its window without a long pass. */
const SENDS_SWEPT_PER_SEND = 4

const sendKey = (room: string, user: string, clientId: string) => `${room}\u0000${user}\u0000${clientId}`

/**
 * Appends on PostgreSQL, as group commit: while one transaction is being written, the appends
 * that arrive wait, and go together in the next one. A burst costs one transaction, a handful of
 * statements (the rooms' rows locked in id order, so two nodes' batches never deadlock; the
 * messages, their clientIds and their events inserted as arrays) and one commit, instead of one
 * per message. Seqs come from the locked rooms' last_seq, so they are assigned in commit order
 * and never twice, on any number of nodes.
 */
export function createPgAppends (options: PgAppendsOptions) {
  const { hooks, outbox } = options
  let queue: PendingAppend[] = []
  let writing: Promise<void> | undefined
  let scheduled = false

  const hooksFor = (fields: Record<string, unknown> | undefined) =>
    hooks.filter((hook) => hook.fields === undefined || (fields !== undefined && hook.fields.some((field) => field in fields)))

  async function write (tx: Tx, batch: PendingAppend[]): Promise<(Appended | Error)[]> {
    const roomIds = [...new Set(batch.map((pending) => pending.room))].sort()
    const { rows } = await tx.query<{ id: string, last_seq: number, history_limit: number | null }>(
      'SELECT id, last_seq, history_limit FROM rooms WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE', [roomIds])
    const rooms = new Map<string, RoomState>(rows.map((row) => [row.id, { lastSeq: row.last_seq, before: row.last_seq, historyLimit: row.history_limit }]))

    const sends = new Map<string, Omit<SendRow, 'room' | 'user_id' | 'client_id'>>()
    const keyed = batch.filter((pending) => pending.clientId !== undefined && rooms.has(pending.room))
    if (keyed.length > 0) {
      const found = await tx.query<SendRow>(`SELECT s.room, s.user_id, s.client_id, s.seq, s.id, s.time FROM sends s
        JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(room, user_id, client_id)
        ON s.room = k.room AND s.user_id = k.user_id AND s.client_id = k.client_id WHERE s.time >= $4`,
      [keyed.map((p) => p.room), keyed.map((p) => p.user), keyed.map((p) => p.clientId), new Date(Date.now() - options.clientIdTtlMs).toISOString()])
      for (const row of found.rows) sends.set(sendKey(row.room, row.user_id, row.client_id), row)
    }

    const results: (Appended | Error)[] = []
    /** Messages taken but not inserted yet: plain ones go in together; one a hook looks at goes after those before it. */
    let unwritten: { message: Message, hooks: NamedHook[], index: number }[] = []
    const writeTaken = async () => {
      if (unwritten.length === 0) return
      const taken = unwritten
      unwritten = []
      await insert(tx, taken.map((entry) => entry.message))
      for (const entry of taken) {
        let effects: Record<string, unknown> | undefined
        for (const hook of entry.hooks) {
          const effect = await hook.stored?.(tx, entry.message)
          if (effect !== undefined) (effects ??= {})[hook.name] = effect
        }
        if (effects !== undefined) results[entry.index] = { message: entry.message, duplicate: false, effects }
      }
    }
    const repeats: { index: number, pending: PendingAppend, send: { seq: number, id: string, time: string } }[] = []
    for (const pending of batch) {
      const state = rooms.get(pending.room)
      if (state === undefined) {
        results.push(new NotFoundError(`room ${pending.room} does not exist`))
        continue
      }
      const { clientId, fields } = pending
      if (clientId !== undefined) {
        const send = sends.get(sendKey(pending.room, pending.user, clientId))
        if (send !== undefined) {
          repeats.push({ index: results.length, pending, send })
          results.push(new Error('answered below'))
          continue
        }
      }
      const applying = hooksFor(fields)
      // A check sees every message before this one as stored, as it would alone; hooks that only
      // follow a stored message (read state, mentions…) run after the insert of the group it is in.
      if (applying.some((hook) => hook.check !== undefined)) await writeTaken()
      let refused: Refused | undefined
      for (const hook of applying) {
        try {
          await hook.check?.(tx, { room: pending.room, user: pending.user, text: pending.text, fields: fields ?? {} })
        } catch (err) {
          if (!(err instanceof Refused)) throw err
          refused = err
          break
        }
      }
      if (refused !== undefined) {
        results.push(refused)
        continue
      }
      const message: Message = { room: pending.room, seq: ++state.lastSeq, id: randomUUID(), user: pending.user, text: pending.text, time: new Date().toISOString() }
      if (clientId !== undefined) {
        message.clientId = clientId
        // A repeat later in this batch finds this one.
        sends.set(sendKey(pending.room, pending.user, clientId), { seq: message.seq, id: message.id, time: message.time })
      }
      if (fields !== undefined) Object.assign(message, fields)
      unwritten.push({ message, hooks: applying, index: results.length })
      results.push({ message, duplicate: false })
    }
    await writeTaken()
    for (const { index, pending, send } of repeats) {
      const [now] = await queryMessages(tx, `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE room = $1 AND seq = $2`, [pending.room, send.seq])
      results[index] = {
        message: now ?? { room: pending.room, seq: send.seq, id: send.id, user: pending.user, text: pending.text, time: send.time, clientId: pending.clientId },
        duplicate: true
      }
    }
    await trim(tx, rooms)
    return results
  }

  /** The messages, their clientIds, their rooms' seqs and their events: one statement each. */
  async function insert (tx: Tx, messages: Message[]): Promise<void> {
    await tx.query(`INSERT INTO messages (room, seq, id, user_id, text, time, client_id, fields)
      SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[])`, [
      messages.map((m) => m.room), messages.map((m) => m.seq), messages.map((m) => m.id), messages.map((m) => m.user),
      messages.map((m) => m.text), messages.map((m) => m.time), messages.map((m) => m.clientId ?? null),
      messages.map((m) => fieldsJson(m))
    ])
    const keyed = messages.filter((m) => m.clientId !== undefined)
    if (keyed.length > 0) {
      await tx.query(`INSERT INTO sends (room, user_id, client_id, seq, id, time)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[])
        ON CONFLICT (room, user_id, client_id) DO UPDATE SET seq = excluded.seq, id = excluded.id, time = excluded.time`, [
        keyed.map((m) => m.room), keyed.map((m) => m.user), keyed.map((m) => m.clientId), keyed.map((m) => m.seq),
        keyed.map((m) => m.id), keyed.map((m) => m.time)
      ])
      // Forgets a few expired clientIds in the transactions that add new ones (by the time index).
      await tx.query('DELETE FROM sends WHERE ctid = ANY(ARRAY(SELECT ctid FROM sends WHERE time < $1 ORDER BY time LIMIT $2))',
        [new Date(Date.now() - options.clientIdTtlMs).toISOString(), keyed.length * SENDS_SWEPT_PER_SEND])
    }
    const last = new Map<string, number>()
    for (const m of messages) last.set(m.room, m.seq)
    await tx.query('UPDATE rooms SET last_seq = s.seq FROM unnest($1::text[], $2::bigint[]) AS s(id, seq) WHERE rooms.id = s.id',
      [[...last.keys()], [...last.values()]])
    if (outbox.wants('message.created')) {
      const byRoom = new Map<string, string[]>()
      for (const m of messages) {
        let bodies = byRoom.get(m.room)
        if (bodies === undefined) byRoom.set(m.room, bodies = [])
        bodies.push(eventBody('message.created', m.room, m.time, m))
      }
      for (const [room, bodies] of byRoom) await outbox.recordBodies(tx, room, bodies)
    }
  }

  /** Rooms over their history limit lose their oldest messages; features' data goes at every 64th seq. */
  async function trim (tx: Tx, rooms: Map<string, RoomState>): Promise<void> {
    for (const [room, state] of rooms) {
      if (state.lastSeq === state.before) continue
      const limit = options.limitOf(state.historyLimit)
      const keepFrom = state.lastSeq - limit + 1
      if (keepFrom <= 1) continue
      await tx.query('DELETE FROM messages WHERE room = $1 AND seq < $2', [room, keepFrom])
      if (Math.floor(keepFrom / TRIM_HOOK_EVERY) > Math.floor((state.before - limit + 1) / TRIM_HOOK_EVERY)) await options.runTrimHooks(tx, room, keepFrom)
    }
  }

  async function flush (): Promise<void> {
    scheduled = false
    while (queue.length > 0) {
      const batch = queue
      queue = []
      let results: (Appended | Error)[]
      try {
        results = await options.transaction((tx) => write(tx, batch))
      } catch (error) {
        for (const pending of batch) pending.reject(error as Error)
        continue
      }
      for (let i = 0; i < batch.length; i++) {
        const result = results[i]!
        if (result instanceof Error) batch[i]!.reject(result)
        else batch[i]!.resolve(result)
      }
    }
  }

  function schedule (): void {
    if (scheduled || writing !== undefined || queue.length === 0) return
    scheduled = true
    setImmediate(() => {
      writing = flush().finally(() => {
        writing = undefined
        // Appends made while the last batch was being settled wait for no one else.
        schedule()
      })
    })
  }

  return {
    append (room: string, user: string, text: string, appendOptions: AppendOptions): Promise<Appended> {
      return new Promise<Appended>((resolve, reject) => {
        queue.push({ room, user, text, clientId: appendOptions.clientId, fields: appendOptions.fields, resolve, reject })
        schedule()
      })
    },
    /** Resolves once every append queued so far is written (or failed). */
    async drain (): Promise<void> {
      while (writing !== undefined || queue.length > 0) {
        if (writing === undefined) schedule()
        await (writing ?? new Promise((resolve) => setImmediate(resolve)))
      }
    }
  }
}
