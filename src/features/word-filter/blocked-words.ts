/**
 * Finds a blocked word in a text: case-insensitive, whole words only (`class` does not match
 * `ass`), where a word is a run of letters, digits and underscores in any script. One regular
 * expression for the whole list, so a text is scanned once however long the list is.
 */
export function blockedWordMatcher (words: readonly string[]): (text: string) => string | undefined {
  const alternatives = [...words].sort((a, b) => b.length - a.length).map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}_])`, 'iu')
  return (text) => pattern.exec(text)?.[0]
}
