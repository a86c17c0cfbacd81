import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import { setTimeout as sleep } from 'node:timers/promises'
import { ChatError } from '../../../src/client/index.ts'
import { matches, wordsOf } from '../../../src/features/search/words.ts'
import { client, joinedTo } from '../../client/client-helper.ts'
import { engineTest, nodesTest } from '../../engines.ts'
import { connectAs, type Frame, http, startServer, tempDir } from '../../helper.ts'

const texts = (messages: Frame[]) => messages.map((message) => message.text)

test('words are runs of letters and digits, lower-cased; a query word matches the start of a word', () => {
  assert.deepEqual(wordsOf('Hello, World! c3po’s ça-va 42'), ['hello', 'world', 'c3po', 's', 'ça', 'va', '42'])
  assert.ok(matches(wordsOf('Release notes for v2'), ['rel', 'note']))
  assert.ok(!matches(wordsOf('Release notes'), ['lease']), 'the start of a word, not its middle')
  assert.ok(!matches(wordsOf('Release notes'), ['release', 'draft']), 'every word')
})

engineTest('search in a room: every word, each a word\'s start, case-insensitive, newest first; current text only; never deleted', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  const say = async (text: string) => (await alice.request({ type: 'message', room: 'lobby', text })).seq as number
  await say('The release is ready')
  const draft = await say('a draft of the RELEASE notes')
  await say('unrelated chatter')
  const old = await say('notes about the release party')
  const doomed = await say('release notes to delete')
  await say('prerelease notes')
  await alice.request({ type: 'edit', room: 'lobby', seq: old, text: 'now about something else' })
  await alice.request({ type: 'edit', room: 'lobby', seq: draft, text: 'the final release notes' })
  await alice.request({ type: 'delete', room: 'lobby', seq: doomed })

  const found = await alice.request({ type: 'search', room: 'lobby', query: 'Release NOT' })
  assert.equal(found.type, 'search')
  assert.match(found.ref, /^r\d+$/, 'the ref echoed')
  assert.deepEqual(texts(found.messages), ['the final release notes'], 'the edited text is found; the old one, the deleted and "prerelease" are not')
  assert.deepEqual(texts((await alice.request({ type: 'search', room: 'lobby', query: 'rel' })).messages),
    ['the final release notes', 'The release is ready'], 'newest first')
  assert.deepEqual(texts((await alice.request({ type: 'search', room: 'lobby', query: 'rel', limit: 1 })).messages), ['the final release notes'])
  assert.deepEqual((await alice.request({ type: 'search', room: 'lobby', query: 'party' })).messages, [], 'the text before an edit is not found')
  const full = (await alice.request({ type: 'search', room: 'lobby', query: 'ready' })).messages[0]
  assert.deepEqual(Object.keys(full).sort(), ['id', 'room', 'seq', 'text', 'time', 'user'], 'messages as history has them')

  const rest = await http(server.url, 'GET', '/rooms/lobby/messages/search?q=release%20notes&limit=5')
  assert.equal(rest.status, 200)
  assert.deepEqual(texts(rest.body.messages), ['the final release notes'])
  assert.equal((await http(server.url, 'GET', '/rooms/nowhere/messages/search?q=x')).status, 404)
  assert.equal((await http(server.url, 'GET', '/rooms/lobby/messages/search?q=%21%21')).status, 400, 'a query with no word')
  assert.equal((await http(server.url, 'GET', '/rooms/lobby/messages/search')).status, 400, 'no query')
  assert.equal((await http(server.url, 'GET', '/rooms/lobby/messages/search?q=x&limit=101')).status, 400)
})

engineTest('bad searches get clear errors and the connection stays usable', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  assert.equal((await alice.request({ type: 'search', room: 'lobby', query: '' })).code, 'bad_request')
  assert.equal((await alice.request({ type: 'search', room: 'lobby', query: '?!' })).code, 'bad_request')
  assert.equal((await alice.request({ type: 'search', room: 'lobby', query: 'x', limit: 0 })).code, 'bad_request')
  assert.equal((await alice.request({ type: 'search', room: 'lobby', query: 'x'.repeat(201) })).code, 'bad_request')
  assert.equal((await alice.request({ type: 'search', room: 'elsewhere', query: 'x' })).code, 'not_member')
  assert.equal((await alice.request({ type: 'message', room: 'lobby', text: 'still here' })).type, 'ack')
})

engineTest('without a room: every room with a read seq that the user may read, and none other', async (start, t) => {
  const server = await start()
  await http(server.url, 'POST', '/rooms', { id: 'staff', private: true })
  await http(server.url, 'PUT', '/rooms/staff/grants/alice')
  const bob = await connectAs(t, server, 'bob')
  const alice = await connectAs(t, server, 'alice')
  // Joining a room gives a read seq (0 until something is read).
  for (const room of ['lobby', 'staff']) {
    await alice.join(room)
    await alice.request({ type: 'message', room, text: `launch plan in ${room}` })
    await sleep(5)
  }
  // Public rooms alice never joined are not hers to search.
  for (const room of ['quiet', 'random']) {
    await bob.join(room)
    await bob.request({ type: 'message', room, text: `launch plan in ${room}` })
  }
  assert.deepEqual(texts((await alice.request({ type: 'search', query: 'launch' })).messages), ['launch plan in staff', 'launch plan in lobby'])
  await alice.join('quiet')
  assert.deepEqual(texts((await alice.request({ type: 'search', query: 'launch' })).messages),
    ['launch plan in quiet', 'launch plan in staff', 'launch plan in lobby'], 'a room joined is searched, from then on')
  await http(server.url, 'DELETE', '/rooms/staff/grants/alice')
  assert.deepEqual(texts((await alice.request({ type: 'search', query: 'launch' })).messages),
    ['launch plan in quiet', 'launch plan in lobby'], 'a revoked grant hides the room')
})

engineTest('trimmed messages are no longer found', async (start, t) => {
  const server = await start()
  await http(server.url, 'POST', '/rooms', { id: 'short', historyLimit: 2 })
  const alice = await connectAs(t, server, 'alice')
  await alice.join('short')
  for (const text of ['needle one', 'hay', 'needle two', 'hay again']) await alice.request({ type: 'message', room: 'short', text })
  assert.deepEqual(texts((await alice.request({ type: 'search', room: 'short', query: 'needle' })).messages), ['needle two'])
})

nodesTest('a message sent on one node is found from the other', async (start, t) => {
  const a = await start()
  const b = await start()
  const alice = await connectAs(t, a, 'alice')
  const bob = await connectAs(t, b, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  await alice.request({ type: 'message', room: 'lobby', text: 'cross node kangaroo' })
  assert.deepEqual(texts((await bob.request({ type: 'search', room: 'lobby', query: 'kang' })).messages), ['cross node kangaroo'])
})

engineTest('the SDK searches; a query without a word rejects with bad_request', async (start, t) => {
  const server = await start()
  const alice = client(t, { url: server.wsUrl, user: 'alice' })
  await joinedTo('lobby', alice)
  await alice.send('lobby', 'find me please')
  await alice.send('lobby', 'not this one')
  assert.deepEqual((await alice.search('FIND', { room: 'lobby' })).map((message) => message.text), ['find me please'])
  await assert.rejects(alice.search('...', { room: 'lobby' }), (err: unknown) => err instanceof ChatError && err.code === 'bad_request')
})

test('sqlite: a database of a release before search has its messages indexed when it opens', async (t) => {
  const db = join(tempDir(t), 'chat.sqlite')
  const first = await startServer(t, { CHAT_DB: db })
  await http(first.url, 'POST', '/rooms', { id: 'lobby' })
  await http(first.url, 'POST', '/rooms/lobby/messages', { text: 'an old message about penguins', user: 'alice' })
  await http(first.url, 'POST', '/rooms/lobby/messages', { text: 'another one', user: 'alice' })
  await first.app.close()
  const file = new BetterSqlite3(db)
  file.exec("DROP TABLE search_words; DROP TABLE search_rooms; DELETE FROM feature_versions WHERE feature = 'search'")
  file.close()
  const second = await startServer(t, { CHAT_DB: db })
  assert.deepEqual(texts((await http(second.url, 'GET', '/rooms/lobby/messages/search?q=pengu')).body.messages), ['an old message about penguins'])
})

test('sqlite: messages stored and not indexed when the process stopped are indexed at the next start', async (t) => {
  const db = join(tempDir(t), 'chat.sqlite')
  const first = await startServer(t, { CHAT_DB: db })
  await http(first.url, 'POST', '/rooms', { id: 'lobby' })
  for (const text of ['walrus one', 'walrus two', 'otter']) await http(first.url, 'POST', '/rooms/lobby/messages', { text, user: 'alice' })
  await first.app.close()
  // As a crash leaves it: the messages committed, their index entries waiting in memory, lost.
  const file = new BetterSqlite3(db)
  file.exec('DELETE FROM search_words; UPDATE search_rooms SET indexed_seq = 0')
  file.close()
  const second = await startServer(t, { CHAT_DB: db })
  assert.deepEqual(texts((await http(second.url, 'GET', '/rooms/lobby/messages/search?q=walrus')).body.messages), ['walrus two', 'walrus one'])
})
