import type { Database } from 'better-sqlite3'

/** A remembered send: the message its clientId stored. */
export interface SendRow { seq: number, id: string, time: string }

interface SendKey { room: string, user: string, clientId: string }

/** Rows looked at per clientId remembered: a pass round the table takes a quarter of a time to live. */
const ROWS_SWEPT_PER_SEND = 4

const START: SendKey = { room: '', user: '', clientId: '' }

/**
 * The clientIds of exactly-once sends (the `sends` table), each kept for its time to live even
 * after its message leaves history.
 *
 * Expired rows are swept a few per clientId remembered, in key order, by a cursor that goes
 * round the table, instead of being found through an index on time: remembering a clientId then
 * writes one page (its row) and forgetting one another (the page the cursor is on), where the
 * time index cost a page more for each, two WAL frames of a message's transaction. A lookup
 * ignores a row past its time to live that the cursor has not reached yet, and remembering the
 * same key again replaces it. A pass round the table tells when the oldest row it kept expires
 * (rows added during the pass are newer than the pass), and no sweep runs before then: in a
 * table younger than its time to live, a sweep would find nothing.
 */
export function createSqliteSends (db: Database, ttlMs: number) {
  const statements = {
    find: db.prepare<[string, string, string, string], SendRow>(
      'SELECT seq, id, time FROM sends WHERE room = ? AND user = ? AND client_id = ? AND time >= ?'),
    remember: db.prepare<[string, string, string, number, string, string]>(`INSERT INTO sends (room, user, client_id, seq, id, time)
      VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (room, user, client_id) DO UPDATE SET seq = excluded.seq, id = excluded.id, time = excluded.time`),
    // A literal limit: with a bound one SQLite takes four times as long to find the rows.
    after: db.prepare<[string, string, string], SendKey & { time: string }>(`SELECT room, user, client_id AS clientId, time
      FROM sends WHERE (room, user, client_id) > (?, ?, ?) ORDER BY room, user, client_id LIMIT ${ROWS_SWEPT_PER_SEND}`),
    forget: db.prepare<[string, string, string]>('DELETE FROM sends WHERE room = ? AND user = ? AND client_id = ?')
  }
  let cursor = START
  /** When the pass under way began, and the oldest time (ms) of the rows it kept. */
  let passStartedAt = 0
  let oldestKept = Infinity
  /** Before this time (ms) no row can have expired. */
  let sweepFrom = 0

  const cutoff = (now: number) => new Date(now - ttlMs).toISOString()

  /** Looks at the rows after the cursor; false once round the table. */
  function sweepNext (now: number, expiredBefore: string): boolean {
    if (cursor === START) passStartedAt = now
    const rows = statements.after.all(cursor.room, cursor.user, cursor.clientId)
    for (const row of rows) {
      if (row.time < expiredBefore) statements.forget.run(row.room, row.user, row.clientId)
      else oldestKept = Math.min(oldestKept, Date.parse(row.time))
    }
    if (rows.length === ROWS_SWEPT_PER_SEND) {
      cursor = rows[ROWS_SWEPT_PER_SEND - 1]!
      return true
    }
    sweepFrom = Math.min(oldestKept, passStartedAt) + ttlMs
    cursor = START
    oldestKept = Infinity
    return false
  }

  return {
    /** The live send of this key, if any. */
    find (room: string, user: string, clientId: string): SendRow | undefined {
      return statements.find.get(room, user, clientId, cutoff(Date.now()))
    },

    remember (room: string, user: string, clientId: string, seq: number, id: string, time: string): void {
      statements.remember.run(room, user, clientId, seq, id, time)
    },

    /** Forgets the expired rows among the next few; call in each transaction that remembered `count` sends. */
    sweep (count: number): void {
      const now = Date.now()
      if (now < sweepFrom) return
      const expiredBefore = cutoff(now)
      for (let step = 0; step < count; step++) {
        if (!sweepNext(now, expiredBefore)) break
      }
    },

    /** After a rollback: the rows its sweep forgot are back, so the pass starts over. */
    rolledBack (): void {
      cursor = START
      oldestKept = Infinity
      sweepFrom = 0
    }
  }
}
