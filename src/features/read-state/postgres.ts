import type { PostgresStorage } from '../../engine/postgres/storage.ts'
import type { ReadMove, ReadStore } from './store.ts'

/** One forward-only read seq per (room, user), gone with the room; indexed by user for `unread`. */
const MIGRATIONS = [
  `
  CREATE TABLE read_state (
    room text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id text NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (room, user_id)
  );
  CREATE INDEX read_state_by_user ON read_state (user_id);
  `
]

/**
 * A sender's own message moves only a read seq it has; the row is the sender's (there is a read
 * seq to report) whether or not it moved. One round trip: the statement's UPDATE runs whether or
 * not its rows are read, and the row exists before and after it alike.
 */
const MOVE_OWN = `WITH moved AS (UPDATE read_state SET seq = $3 WHERE room = $1 AND user_id = $2 AND seq < $3)
  SELECT 1 FROM read_state WHERE room = $1 AND user_id = $2`

/**
 * Inserts first read seqs or moves them forward (a lower seq changes nothing), all in one
 * statement; returns the rows that changed. The room's row is share-locked on its key: a room
 * deleted meanwhile drops its moves (as a missing room does) rather than failing the others on
 * the foreign key, and appends, which lock the row for update without its key, are not held up.
 */
const MOVE = `INSERT INTO read_state (room, user_id, seq)
  SELECT m.room, m.user_id, m.seq FROM unnest($1::text[], $2::text[], $3::bigint[]) AS m(room, user_id, seq)
  WHERE EXISTS (SELECT 1 FROM rooms r WHERE r.id = m.room FOR KEY SHARE)
  ON CONFLICT (room, user_id) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > read_state.seq
  RETURNING room, user_id`

const keyOf = (room: string, user: string) => `${room}\n${user}`

/**
 * The moves in rounds, none holding two moves of one (room, user): a statement may change a row
 * once only, and rounds in order keep SQLite's one-by-one outcome (a later, higher move counts too).
 */
function rounds<M extends ReadMove> (moves: M[]): M[][] {
  const result: M[][] = []
  const seen = new Map<string, number>()
  for (const move of moves) {
    const key = keyOf(move.room, move.user)
    const round = seen.get(key) ?? 0
    seen.set(key, round + 1)
    const list = result[round] ?? (result[round] = [])
    list.push(move)
  }
  return result
}

/**
 * Read seqs on PostgreSQL, as on SQLite (sqlite.ts). Lists come in SQLite's order: ids compared
 * as bytes (COLLATE "C"), whatever the database's collation.
 */
export function postgresReads (storage: PostgresStorage): ReadStore {
  const { sql } = storage
  storage.migrate('read-state', MIGRATIONS)

  // The sender's read seq moves to its message in the message's transaction: no write of its own.
  storage.onAppend('read-state', {
    stored: async (tx, message) => {
      const { rowCount } = await tx.query(MOVE_OWN, [message.room, message.user, message.seq])
      return rowCount === 1 ? 1 : undefined
    }
  })

  return {
    async readSeq (room, user) {
      return (await sql.query<{ seq: number }>('SELECT seq FROM read_state WHERE room = $1 AND user_id = $2', [room, user])).rows[0]?.seq
    },
    async saveReads (moves) {
      if (moves.length === 0) return []
      return await storage.transaction(async (tx) => {
        const moved = new Set<ReadMove>()
        for (const round of rounds(moves)) {
          const { rows } = await tx.query<{ room: string, user_id: string }>(MOVE,
            [round.map((move) => move.room), round.map((move) => move.user), round.map((move) => move.seq)])
          const changed = new Set(rows.map((row) => keyOf(row.room, row.user_id)))
          for (const move of round) if (changed.has(keyOf(move.room, move.user))) moved.add(move)
        }
        // In the order given, as SQLite answers.
        return moves.filter((move) => moved.has(move))
      })
    },
    async reads (room) {
      const { rows } = await sql.query<{ user: string, seq: number }>(
        'SELECT user_id AS "user", seq FROM read_state WHERE room = $1 ORDER BY user_id COLLATE "C"', [room])
      return rows
    },
    async unread (user) {
      // Joined with the rooms: a deleted room is not listed (its rows went with it anyway).
      const { rows } = await sql.query<{ room: string, seq: number, readSeq: number }>(`SELECT s.room, r.last_seq AS seq, s.seq AS "readSeq"
        FROM read_state s JOIN rooms r ON r.id = s.room WHERE s.user_id = $1 ORDER BY s.room COLLATE "C"`, [user])
      return rows.map(({ room, seq, readSeq }) => ({ room, seq, readSeq, unread: Math.max(0, seq - readSeq) }))
    }
  }
}
