import { element } from '../dom.ts'

/**
 * Candidates for `@id` as the server reads them (src/features/mentions/mentions.ts): at the
 * start or after whitespace, not stopping inside a word. Only the ids the server put in the
 * message's `mentions` are marked, so the page never disagrees with the unread count.
 */
const MENTION = /(^|\s)@([A-Za-z0-9_.-]+)(?![\p{L}\p{N}_])/gu

/**
 * A message's text as nodes, each mention in `span.mention`, and those of the signed-in user
 * in a `mark` (highlighted for the eye, and announced as such by screen readers that do).
 */
export function textWithMentions (text: string, mentions: readonly string[] | undefined, me: string | undefined): (Node | string)[] {
  if (mentions === undefined) return [text]
  const nodes: (Node | string)[] = []
  let from = 0
  for (const match of text.matchAll(MENTION)) {
    // A dot that ends the run ends the sentence, as on the server: "thanks @bob." mentions bob.
    const user = match[2]!.replace(/\.+$/, '')
    if (!mentions.includes(user)) continue
    const start = match.index + match[1]!.length
    nodes.push(text.slice(from, start))
    nodes.push(user === me ? element('mark', 'mention me', `@${user}`) : element('span', 'mention', `@${user}`))
    from = start + 1 + user.length
  }
  nodes.push(text.slice(from))
  return nodes.filter((node) => node !== '')
}
