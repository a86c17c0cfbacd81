import { MESSAGE_COLUMNS, queryMessages } from '../../engine/postgres/message-rows.ts'
import type { PostgresStorage } from '../../engine/postgres/storage.ts'
import type { SearchStore } from './store.ts'

/**
 * The numbers other than decimal digits (², ½, Ⅻ: categories Nl and No) as ranges of a regular
 * expression's bracket, from the Unicode tables words.ts splits by: words.ts keeps every \p{N} in
 * words, and ICU's [:digit:] has only the decimal ones (Nd). Worked out once per process.
 */
let otherNumbers: string | undefined
function otherNumbersClass (): string {
  if (otherNumbers !== undefined) return otherNumbers
  const number = /[\p{Nl}\p{No}]/u
  const escape = (code: number) => code < 0x10000 ? `\\u${code.toString(16).padStart(4, '0')}` : `\\U${code.toString(16).padStart(8, '0')}`
  let ranges = ''
  let first = -1
  for (let code = 0; code <= 0x110000; code++) {
    const inClass = code < 0x110000 && number.test(String.fromCodePoint(code))
    if (inClass && first < 0) first = code
    if (!inClass && first >= 0) {
      ranges += first === code - 1 ? escape(first) : `${escape(first)}-${escape(code - 1)}`
      first = -1
    }
  }
  return (otherNumbers = ranges)
}

/**
 * The words of a text as a tsvector, cut as words.ts cuts them: lower-cased, then split on every
 * character that is neither a letter (\p{L}) nor a number (\p{N}), diacritics kept. Not
 * PostgreSQL's text search parser, which reads hosts, e-mails and versions as single words, and
 * in the C locale takes any non-ASCII character (’) for a letter. The ICU root collation, whatever
 * the database's own: its lower() is Unicode's, as JavaScript's (final sigma included), and its
 * [:alpha:] is \p{L}. A word is kept to its first 500 characters (at most 2000 bytes: a lexeme
 * holds 2047): a query word, at most 200 characters, starts the word exactly when it starts those.
 * A function of its own, so that the index and the query name the same expression.
 */
const searchWords = () => `
  CREATE FUNCTION search_words(body text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_to_tsvector(ARRAY(
      SELECT left(word, 500) FROM unnest(regexp_split_to_array(lower(body COLLATE "und-x-icu"), '[^[:alpha:][:digit:]${otherNumbersClass()}]+')) AS word
      WHERE word <> ''))
  $$;
  `

/**
 * The full-text index on PostgreSQL: a GIN index over the expression, on the core's messages
 * table itself. No column and no table of its own: a message costs its index entries and nothing
 * more, and the index follows edits, deletes (a tombstone's text is empty), trimming and deleted
 * rooms by itself, so no hook is needed. Existing messages are indexed by the migration.
 */
const migrations = () => [
  `
  ${searchWords()}
  CREATE INDEX messages_search_words ON messages USING gin (search_words(text));
  `
]

/**
 * Every word as a prefix (`'hel':*`), all required. Cast to tsquery rather than parsed by
 * to_tsquery, which would cut and normalise the words again with the text search parser; each
 * word is quoted (' doubled, \ escaped), so that no word is read as an operator.
 */
const tsQuery = (words: readonly string[]) =>
  words.map((word) => `'${word.replaceAll('\\', '\\\\').replaceAll("'", "''")}':*`).join(' & ')

/**
 * Newest first (time, then seq; times compared as bytes, as SQLite does). Tombstones are left
 * out here, not after the limit.
 */
const SEARCH = `SELECT ${MESSAGE_COLUMNS} FROM messages
  WHERE room = ANY($1::text[]) AND search_words(text) @@ $2::tsquery AND (fields @> '{"deleted": true}') IS NOT TRUE
  ORDER BY time COLLATE "C" DESC, seq DESC LIMIT $3`

/** Search on PostgreSQL: the messages table only holds retained messages, and the index is read in the query's snapshot. */
export function postgresSearch (storage: PostgresStorage): SearchStore {
  storage.migrate('search', migrations())
  return {
    async search (rooms, words, limit) {
      if (rooms.length === 0 || words.length === 0) return []
      return await queryMessages(storage.sql, SEARCH, [rooms, tsQuery(words), limit])
    }
  }
}
