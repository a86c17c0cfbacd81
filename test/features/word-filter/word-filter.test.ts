import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, loadConfig } from '../../../src/config.ts'
import { blockedWordMatcher } from '../../../src/features/word-filter/blocked-words.ts'
import { engineTest } from '../../engines.ts'
import { connectAs, http } from '../../helper.ts'

test('blocked words match whole words in any case, in any script, with their punctuation taken literally', () => {
  const blocked = blockedWordMatcher(['spam', 'c++', 'grün', 'buy now'])
  assert.equal(blocked('This is SPAM!'), 'SPAM')
  assert.equal(blocked('spam.'), 'spam')
  assert.equal(blocked('spammer and antispam'), undefined, 'inside a longer word')
  assert.equal(blocked('I like c++ a lot'), 'c++')
  assert.equal(blocked('cxx'), undefined, '+ is not a pattern')
  assert.equal(blocked('GRÜN ist'), 'GRÜN')
  assert.equal(blocked('grüne'), undefined)
  assert.equal(blocked('Buy now, pay later'), 'Buy now')
  assert.equal(blocked('nothing here'), undefined)
})

test('CHAT_BLOCKED_WORDS without a word, and CHAT_PRESEND_ settings that do not fit, refuse to start, naming the variable', () => {
  assert.throws(() => loadConfig({ CHAT_BLOCKED_WORDS: ' , ,' }), (err: unknown) => err instanceof ConfigError && /^CHAT_BLOCKED_WORDS: no word/.test(err.message))
  assert.throws(() => loadConfig({ CHAT_PRESEND_URL: 'http://127.0.0.1:1/check' }), /^ConfigError: CHAT_WEBHOOK_SECRET: required when CHAT_PRESEND_URL is set/)
  assert.throws(() => loadConfig({ CHAT_PRESEND_URL: 'ftp://x' }), /^ConfigError: CHAT_PRESEND_URL: invalid value/)
  assert.throws(() => loadConfig({ CHAT_PRESEND_FAIL: 'sometimes' }), /^ConfigError: CHAT_PRESEND_FAIL: invalid value "sometimes"; expected open or closed/)
  assert.throws(() => loadConfig({ CHAT_PRESEND_TIMEOUT_MS: '0' }), /^ConfigError: CHAT_PRESEND_TIMEOUT_MS: invalid value/)
  assert.deepEqual(loadConfig({ CHAT_BLOCKED_WORDS: 'Spam, scam ,spam' }).CHAT_BLOCKED_WORDS, 'Spam, scam ,spam')
})

engineTest('a message or an edit holding a blocked word is refused with forbidden naming it, and nothing is stored or sent', async (start, t) => {
  const server = await start({ CHAT_BLOCKED_WORDS: 'spam,Scam' })
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  const refused = await alice.request({ type: 'message', room: 'lobby', text: 'cheap SCAM here' })
  assert.equal(refused.type, 'error')
  assert.equal(refused.code, 'forbidden')
  assert.match(refused.message, /blocked word "SCAM"/)
  const kept = await alice.request({ type: 'message', room: 'lobby', text: 'no spammer in antispam' })
  assert.equal(kept.type, 'ack')
  assert.equal((await bob.next('message')).text, 'no spammer in antispam', 'bob gets the allowed one only')
  const edit = await alice.request({ type: 'edit', room: 'lobby', seq: kept.seq, text: 'now spam' })
  assert.equal(edit.code, 'forbidden')
  const posted = await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'spam!', user: 'ops' })
  assert.equal(posted.status, 403)
  assert.match(posted.body.message, /blocked word "spam"/)
  const history = await http(server.url, 'GET', '/rooms/lobby/messages')
  assert.deepEqual(history.body.messages.map((m: { text: string }) => m.text), ['no spammer in antispam'])
  // The connection stays usable after a refusal.
  assert.equal((await alice.request({ type: 'message', room: 'lobby', text: 'fine' })).type, 'ack')
})
