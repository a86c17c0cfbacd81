import type { LocalStorage } from '../../engine/local/storage.ts'
import type { ReadMove, ReadStore, UnreadEntry } from './store.ts'

/**
 * Read seqs on SQLite: one forward-only position per (room, user), deleted with the room. The
 * table (read_state) dates from before features had migrations of their own: the core's
 * migration 4 made it.
 */
export function sqliteReads (storage: LocalStorage): ReadStore {
  const { db, messages } = storage
  storage.migrate('read-state', [])
  const statements = {
    get: db.prepare<[string, string], { seq: number }>('SELECT seq FROM read_state WHERE room = ? AND user = ?'),
    // Inserts a first read seq or moves it forward; a lower seq changes nothing (changes = 0).
    move: db.prepare<[string, string, number]>(`INSERT INTO read_state (room, user, seq) VALUES (?, ?, ?)
      ON CONFLICT (room, user) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > read_state.seq`),
    // A sender's own message: moves only a read seq it has.
    moveOwn: db.prepare<[number, string, string, number]>('UPDATE read_state SET seq = ? WHERE room = ? AND user = ? AND seq < ?'),
    ofRoom: db.prepare<[string], { user: string, seq: number }>('SELECT user, seq FROM read_state WHERE room = ? ORDER BY user'),
    ofUser: db.prepare<[string], { room: string, seq: number }>('SELECT room, seq FROM read_state WHERE user = ? ORDER BY room')
  }

  // The sender's read seq moves to its message in the message's transaction: no write of its own.
  storage.onAppend('read-state', {
    stored (message) {
      if (statements.moveOwn.run(message.seq, message.room, message.user, message.seq).changes === 1) return 1
      return statements.get.get(message.room, message.user) === undefined ? undefined : 1
    }
  })

  const save = db.transaction((moves: ReadMove[]) =>
    moves.filter((move) => messages.latestSeq(move.room) !== undefined && statements.move.run(move.room, move.user, move.seq).changes === 1))

  return {
    async readSeq (room, user) {
      return statements.get.get(room, user)?.seq
    },
    async saveReads (moves) {
      return moves.length === 0 ? [] : save(moves) as typeof moves
    },
    async reads (room) {
      return statements.ofRoom.all(room)
    },
    async unread (user) {
      const rooms: UnreadEntry[] = []
      for (const { room, seq: readSeq } of statements.ofUser.all(user)) {
        const seq = messages.latestSeq(room)
        if (seq !== undefined) rooms.push({ room, seq, readSeq, unread: Math.max(0, seq - readSeq) })
      }
      return rooms
    }
  }
}
