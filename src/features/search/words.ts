/**
 * The words of a text as search sees them: runs of letters and digits, lower-cased. SQLite's
 * FTS5 index (tokenizer unicode61, diacritics kept) cuts texts the same way, so that a search
 * finds the same messages on every engine.
 */
export function wordsOf (text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((word) => word !== '')
}

/** Whether every query word starts a word of the text: the contract's match. */
export function matches (textWords: readonly string[], queryWords: readonly string[]): boolean {
  return queryWords.every((query) => textWords.some((word) => word.startsWith(query)))
}

/** A tombstone (the edits feature's `deleted`): never found. */
export function isDeleted (message: object): boolean {
  return (message as { deleted?: unknown }).deleted === true
}
