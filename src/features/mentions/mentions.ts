import { idRegExp } from '../../schemas/common.ts'

/**
 * `@id` at the start of the text or after whitespace: the `@`, then the longest run of id
 * characters, which must not stop in the middle of a word (`@zoë` mentions nobody, not `zo`),
 * less the dots that end it (punctuation). A run longer than an id may be is not a mention.
 */
const MENTION = /(?:^|\s)@([A-Za-z0-9_.-]+)(?![\p{L}\p{N}_])/gu

/**
 * The users a text mentions, once each, in order of first appearance; undefined when none (the
 * field is then left out of the message, or removed by an edit).
 */
export function mentionsOf (text: string): string[] | undefined {
  if (!text.includes('@')) return undefined
  const users: string[] = []
  for (const match of text.matchAll(MENTION)) {
    // A dot that ends the run ends the sentence: "thanks @bob." mentions bob.
    const user = match[1]!.replace(/\.+$/, '')
    if (idRegExp.test(user) && !users.includes(user)) users.push(user)
  }
  return users.length === 0 ? undefined : users
}
