import fp from 'fastify-plugin'
import { blockedWordsOf } from '../../config.ts'
import { Refused } from '../../engine/extension.ts'
import { blockedWordMatcher } from './blocked-words.ts'

/**
 * The word filter: with CHAT_BLOCKED_WORDS set, a message or an edit whose text holds one of the
 * words is refused with `forbidden` naming it, and nothing is stored. It runs on the node that
 * received the text, before any other check, and waits for nothing.
 */
export default fp(async (fastify) => {
  const list = fastify.config.CHAT_BLOCKED_WORDS
  if (list === undefined) return
  const blocked = blockedWordMatcher(blockedWordsOf(list))
  fastify.messages.checkText(({ text }) => {
    const word = blocked(text)
    if (word !== undefined) throw new Refused('forbidden', `the text contains the blocked word "${word}"; it was not sent`)
  })
}, { name: 'word-filter', dependencies: ['messages'] })
