import type { Message } from '../../schemas/common.ts'

/** The port of search: the retained, not deleted messages of some rooms whose text has every word. */
export interface SearchStore {
  /**
   * Messages of `rooms` whose current text has, for each of `words` (lower-cased, as wordsOf
   * cuts them), a word starting with it; newest first (time, then seq), at most `limit`.
   */
  search (rooms: readonly string[], words: readonly string[], limit: number): Promise<Message[]>
}
