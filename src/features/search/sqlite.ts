import type { LocalStorage } from '../../engine/local/storage.ts'
import type { Message } from '../../schemas/common.ts'
import type { SearchStore } from './store.ts'
import { isDeleted } from './words.ts'

/**
 * The full-text index on SQLite: FTS5 over each retained message's current text (tokenizer
 * unicode61, diacritics kept: words.ts cuts texts the same way), contentless (the text lives in
 * `messages` only), its rows named by `search_docs`. AUTOINCREMENT: an index row of a deleted
 * room is never taken for a new message's. Existing messages are indexed by the migration.
 */
const MIGRATIONS = [
  `
  CREATE TABLE search_docs (
    row INTEGER PRIMARY KEY AUTOINCREMENT,
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    UNIQUE (room, seq)
  );
  CREATE VIRTUAL TABLE search_words USING fts5(text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0');
  INSERT INTO search_docs (room, seq) SELECT room, seq FROM messages WHERE text <> '';
  INSERT INTO search_words (rowid, text) SELECT d.row, m.text FROM search_docs d JOIN messages m ON m.room = d.room AND m.seq = d.seq;
  `
]

/** An FTS5 query: every word, each as a prefix (`"hel"*`), all required. */
const ftsQuery = (words: readonly string[]) => words.map((word) => `"${word.replaceAll('"', '""')}"*`).join(' ')

/** Search on SQLite: the index follows appends, edits and deletes in their transactions, and trimming. */
export function sqliteSearch (storage: LocalStorage): SearchStore {
  const { db, messages } = storage
  storage.migrate('search', MIGRATIONS)
  const statements = {
    addDoc: db.prepare<[string, number]>('INSERT INTO search_docs (room, seq) VALUES (?, ?)'),
    addWords: db.prepare<[number | bigint, string]>('INSERT INTO search_words (rowid, text) VALUES (?, ?)'),
    rowOf: db.prepare<[string, number], { row: number }>('SELECT row FROM search_docs WHERE room = ? AND seq = ?'),
    removeWords: db.prepare<[number]>('DELETE FROM search_words WHERE rowid = ?'),
    removeDoc: db.prepare<[number]>('DELETE FROM search_docs WHERE row = ?'),
    trimWords: db.prepare<[string, number]>('DELETE FROM search_words WHERE rowid IN (SELECT row FROM search_docs WHERE room = ? AND seq < ?)'),
    trimDocs: db.prepare<[string, number]>('DELETE FROM search_docs WHERE room = ? AND seq < ?'),
    // Joined with the messages: only retained ones are found, whatever the index still holds.
    search: db.prepare<[string, string, number], { room: string, seq: number }>(`SELECT d.room AS room, d.seq AS seq FROM search_words w
      JOIN search_docs d ON d.row = w.rowid JOIN messages m ON m.room = d.room AND m.seq = d.seq
      WHERE w.text MATCH ? AND d.room IN (SELECT value FROM json_each(?))
      ORDER BY m.time DESC, m.seq DESC LIMIT ?`)
  }
  const index = (message: Message) => {
    if (message.text === '') return
    const { lastInsertRowid } = statements.addDoc.run(message.room, message.seq)
    statements.addWords.run(lastInsertRowid, message.text)
  }
  const unindex = (message: Message) => {
    const doc = statements.rowOf.get(message.room, message.seq)
    if (doc === undefined) return
    statements.removeWords.run(doc.row)
    statements.removeDoc.run(doc.row)
  }

  storage.onAppend('search', { stored: (message) => { index(message) } })
  storage.onChange((before, after) => {
    if (before.text === after.text) return
    unindex(before)
    if (!isDeleted(after)) index(after)
  })
  storage.onTrim((room, keepFrom) => {
    statements.trimWords.run(room, keepFrom)
    statements.trimDocs.run(room, keepFrom)
  })

  return {
    async search (rooms, words, limit) {
      if (rooms.length === 0 || words.length === 0) return []
      const found = statements.search.all(ftsQuery(words), JSON.stringify(rooms), limit)
      return found.map(({ room, seq }) => messages.get(room, seq)).filter((message): message is Message => message !== undefined && !isDeleted(message))
    }
  }
}
