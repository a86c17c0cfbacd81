import type { Database } from 'better-sqlite3'
import type { ReadMove, UnreadRoom } from '../types.ts'

export interface ReadStateDeps {
  /** The room's latest seq, or undefined when the room does not exist. */
  latestSeq: (room: string) => number | undefined
}

/** Read seqs: one forward-only position per (room, user), deleted with the room. */
export function createSqliteReadState (db: Database, deps: ReadStateDeps) {
  const statements = {
    get: db.prepare<[string, string], { seq: number }>('SELECT seq FROM read_state WHERE room = ? AND user = ?'),
    // Inserts a first read seq or moves it forward; a lower seq changes nothing (changes = 0).
    move: db.prepare<[string, string, number]>(`INSERT INTO read_state (room, user, seq) VALUES (?, ?, ?)
      ON CONFLICT (room, user) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > read_state.seq`),
    ofRoom: db.prepare<[string], { user: string, seq: number }>('SELECT user, seq FROM read_state WHERE room = ? ORDER BY user'),
    ofUser: db.prepare<[string], { room: string, seq: number }>('SELECT room, seq FROM read_state WHERE user = ? ORDER BY room')
  }

  const save = db.transaction((moves: ReadMove[]) =>
    moves.filter((move) => deps.latestSeq(move.room) !== undefined && statements.move.run(move.room, move.user, move.seq).changes === 1))

  return {
    readSeq (room: string, user: string): number | undefined {
      return statements.get.get(room, user)?.seq
    },
    /** Moves one read seq forward inside the caller's transaction (a sender's, with its message). */
    moveInTransaction (room: string, user: string, seq: number): void {
      statements.move.run(room, user, seq)
    },
    saveReads<M extends ReadMove> (moves: M[]): M[] {
      return moves.length === 0 ? [] : save(moves) as M[]
    },
    reads (room: string) {
      return statements.ofRoom.all(room)
    },
    unread (user: string): UnreadRoom[] {
      const rooms: UnreadRoom[] = []
      for (const { room, seq: readSeq } of statements.ofUser.all(user)) {
        const seq = deps.latestSeq(room)
        if (seq !== undefined) rooms.push({ room, seq, readSeq, unread: Math.max(0, seq - readSeq) })
      }
      return rooms
    }
  }
}
