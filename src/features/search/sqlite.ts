import type { LocalStorage } from '../../engine/local/storage.ts'
import type { Message } from '../../schemas/common.ts'
import type { SearchStore } from './store.ts'
import { isDeleted } from './words.ts'

/**
 * The full-text index on SQLite: FTS5 over each retained message's current text (tokenizer
 * unicode61, diacritics kept: words.ts cuts texts the same way). Kept as cheap to write as FTS5
 * allows, since every message pays for it: contentless (the text lives in `messages` only),
 * `detail=none` (no positions: a search asks for words, never phrases), and each message's index
 * row named by arithmetic, not by a row of its own: (the room's number << 31) + seq. A room's
 * number comes from `search_rooms` (AUTOINCREMENT, never reused, so rows left by a deleted room
 * never name another's message). Existing messages are indexed by the migration.
 */
const MIGRATIONS = [
  `
  CREATE TABLE search_rooms (
    num INTEGER PRIMARY KEY AUTOINCREMENT,
    room TEXT NOT NULL UNIQUE REFERENCES rooms(id) ON DELETE CASCADE,
    indexed_seq INTEGER NOT NULL DEFAULT 0
  );
  CREATE VIRTUAL TABLE search_words USING fts5(text, content = '', contentless_delete = 1, detail = none, tokenize = 'unicode61 remove_diacritics 0');
  INSERT INTO search_rooms (room, indexed_seq) SELECT id, COALESCE((SELECT MAX(seq) FROM messages WHERE room = rooms.id), 0) FROM rooms ORDER BY id;
  INSERT INTO search_words (rowid, text) SELECT (r.num << 31) + m.seq, m.text FROM messages m JOIN search_rooms r ON r.room = m.room WHERE m.text <> '';
  `
]

/**
 * New messages wait this long, or until this many are waiting, to be indexed in one transaction:
 * FTS5 writes a segment per transaction, which cost a message stored alone about 40 µs more,
 * and one of a hundred about 5 µs. A search, an edit, a delete or a trim indexes what waits
 * first, so none of them sees the index behind; what a crash loses is indexed at the next start,
 * from the room's `indexed_seq` on.
 */
const INDEX_EVERY_MS = 200
const INDEX_AT = 500

/** A seq below this fits the low bits of an index row's id. */
const SEQ_BITS = 31

/** An FTS5 query: every word, each as a prefix (`"hel"*`), all required. */
const ftsQuery = (words: readonly string[]) => words.map((word) => `"${word.replaceAll('"', '""')}"*`).join(' ')

/** Search on SQLite: the index follows appends, edits and deletes in their transactions, and trimming. */
export function sqliteSearch (storage: LocalStorage): SearchStore {
  const { db, messages } = storage
  storage.migrate('search', MIGRATIONS)
  const statements = {
    numOf: db.prepare<[string], { num: number }>('SELECT num FROM search_rooms WHERE room = ?'),
    indexed: db.prepare<[number, string]>('UPDATE search_rooms SET indexed_seq = MAX(indexed_seq, ?) WHERE room = ?'),
    behind: db.prepare<[], { room: string, seq: number }>(`SELECT r.id AS room, COALESCE(s.indexed_seq, 0) AS seq FROM rooms r
      LEFT JOIN search_rooms s ON s.room = r.id`),
    notIndexed: db.prepare<[string, number], { seq: number, text: string }>("SELECT seq, text FROM messages WHERE room = ? AND seq > ? AND text <> '' ORDER BY seq"),
    addRoom: db.prepare<[string]>('INSERT INTO search_rooms (room) VALUES (?)'),
    add: db.prepare<[bigint, string]>('INSERT INTO search_words (rowid, text) VALUES (?, ?)'),
    remove: db.prepare<[bigint]>('DELETE FROM search_words WHERE rowid = ?'),
    trim: db.prepare<[bigint, bigint]>('DELETE FROM search_words WHERE rowid BETWEEN ? AND ?'),
    // Joined with the messages: only retained ones are found, whatever the index still holds.
    search: db.prepare<[string, string, number], { room: string, seq: number }>(`SELECT m.room AS room, m.seq AS seq FROM search_words w
      JOIN search_rooms r ON r.num = (w.rowid >> ${SEQ_BITS})
      JOIN messages m ON m.room = r.room AND m.seq = (w.rowid & ${(2 ** SEQ_BITS) - 1})
      WHERE search_words MATCH ? AND r.room IN (SELECT value FROM json_each(?))
      ORDER BY m.time DESC, m.seq DESC LIMIT ?`)
  }
  const numOf = (room: string): bigint => {
    const found = statements.numOf.get(room)
    return BigInt(found === undefined ? statements.addRoom.run(room).lastInsertRowid : found.num)
  }
  const rowOf = (room: string, seq: number) => (numOf(room) << BigInt(SEQ_BITS)) + BigInt(seq)
  const index = (message: Pick<Message, 'room' | 'seq' | 'text'>) => {
    if (message.text !== '') statements.add.run(rowOf(message.room, message.seq), message.text)
  }

  let waiting: Pick<Message, 'room' | 'seq' | 'text'>[] = []
  let timer: NodeJS.Timeout | undefined
  /** Indexes the messages waiting, in one transaction (a savepoint inside a running one). */
  const indexWaiting = db.transaction(() => {
    clearTimeout(timer)
    timer = undefined
    const batch = waiting
    waiting = []
    const newest = new Map<string, number>()
    for (const message of batch) {
      // An append rolled back after its hook ran left no message behind (and its seq is free again).
      if (messages.get(message.room, message.seq)?.text !== message.text) continue
      index(message)
      newest.set(message.room, message.seq)
    }
    for (const [room, seq] of newest) statements.indexed.run(seq, room)
  })
  const catchUp = () => {
    if (waiting.length > 0 && db.open) indexWaiting()
  }
  // Messages stored before a crash and not indexed then.
  db.transaction(() => {
    for (const { room, seq } of statements.behind.all()) {
      for (const message of statements.notIndexed.all(room, seq)) waiting.push({ room, seq: message.seq, text: message.text })
    }
    catchUp()
  })()

  storage.onAppend('search', {
    stored: (message) => {
      waiting.push({ room: message.room, seq: message.seq, text: message.text })
      if (waiting.length >= INDEX_AT) indexWaiting()
      else timer ??= setTimeout(catchUp, INDEX_EVERY_MS).unref()
    }
  })
  storage.onChange((before, after) => {
    if (before.text === after.text) return
    catchUp()
    if (before.text !== '') statements.remove.run(rowOf(before.room, before.seq))
    if (!isDeleted(after)) index(after)
  })
  storage.onTrim((room, keepFrom) => {
    catchUp()
    const first = numOf(room) << BigInt(SEQ_BITS)
    statements.trim.run(first, first + BigInt(keepFrom - 1))
  })

  return {
    async search (rooms, words, limit) {
      if (rooms.length === 0 || words.length === 0) return []
      catchUp()
      const found = statements.search.all(ftsQuery(words), JSON.stringify(rooms), limit)
      return found.map(({ room, seq }) => messages.get(room, seq)).filter((message): message is Message => message !== undefined && !isDeleted(message))
    }
  }
}
