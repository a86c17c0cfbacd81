import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectAs, type Frame, http } from '../../helper.ts'
import { aliceAndBobAcrossNodes, engineTest, nodesTest } from '../../engines.ts'

const updatedOf = (seq: number) => (frame: Frame) => frame.type === 'updated' && frame.message.seq === seq
const texts = (messages: Frame[]) => messages.map((message) => message.text)

engineTest('a reply is a message of the room with replyTo; its root gets the thread, members an updated root', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  const root = await alice.request({ type: 'message', room: 'lobby', text: 'a question' })
  await bob.next('message')
  await alice.next('message')
  const reply = await bob.request({ type: 'message', room: 'lobby', text: 'an answer', replyTo: root.seq, clientId: 'r-1' })
  assert.equal(reply.type, 'ack')
  assert.equal(reply.seq, root.seq + 1, 'a reply takes the room\'s next seq')
  const live = await alice.next('message')
  assert.equal(live.replyTo, root.seq)
  assert.equal(live.text, 'an answer')
  for (const client of [alice, bob]) {
    const { message } = await client.next(updatedOf(root.seq))
    assert.deepEqual(message.thread, { replies: 1, lastSeq: reply.seq, lastTime: live.time })
    assert.equal(message.version, undefined, 'a thread does not change the root\'s version')
    assert.equal(message.text, 'a question')
  }
  // A reply to the reply goes to the root.
  const nested = await alice.request({ type: 'message', room: 'lobby', text: 'and a follow-up', replyTo: reply.seq })
  assert.equal((await bob.next('message')).replyTo, root.seq)
  const [history] = [(await http(server.url, 'GET', '/rooms/lobby/messages')).body.messages]
  assert.deepEqual(history.map((m: Frame) => [m.seq, m.replyTo]), [[root.seq, undefined], [reply.seq, root.seq], [nested.seq, root.seq]])
  await sleep(1200)
  const [rootNow] = (await http(server.url, 'GET', '/rooms/lobby/messages?limit=3')).body.messages
  assert.equal(rootNow.thread.replies, 2)
  assert.equal(rootNow.thread.lastSeq, nested.seq)
  // The repeat of a reply stores nothing and changes no thread.
  assert.equal((await bob.request({ type: 'message', room: 'lobby', text: 'an answer', replyTo: root.seq, clientId: 'r-1' })).duplicate, true)
})

engineTest('replyTo must name a retained, undeleted message; the thread must name a retained one', async (start, t) => {
  const server = await start()
  await http(server.url, 'POST', '/rooms', { id: 'short', historyLimit: 2 })
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  const kept = await alice.request({ type: 'message', room: 'lobby', text: 'kept' })
  const gone = await alice.request({ type: 'message', room: 'lobby', text: 'gone' })
  await alice.request({ type: 'delete', room: 'lobby', seq: gone.seq })
  for (const replyTo of [0, 99, gone.seq]) {
    const refused = await alice.request({ type: 'message', room: 'lobby', text: 'x', replyTo })
    assert.equal(refused.code, 'not_found', `replyTo ${replyTo}`)
    const posted = await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'x', replyTo })
    assert.equal(posted.status, 404, `POST replyTo ${replyTo}`)
  }
  for (const replyTo of [-1, 1.5, 'one']) {
    assert.equal((await alice.request({ type: 'message', room: 'lobby', text: 'x', replyTo })).code, 'bad_request')
    assert.equal((await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'x', replyTo })).status, 400)
    assert.equal((await alice.request({ type: 'history', room: 'lobby', thread: replyTo })).code, 'bad_request')
  }
  assert.equal((await alice.request({ type: 'history', room: 'lobby', thread: 99 })).code, 'not_found')
  assert.equal((await http(server.url, 'GET', '/rooms/lobby/messages?thread=99')).status, 404)
  assert.equal((await http(server.url, 'GET', '/rooms/lobby/messages?thread=x')).status, 400)
  await alice.join('short')
  const first = await alice.request({ type: 'message', room: 'short', text: 'one' })
  for (const text of ['two', 'three']) await alice.request({ type: 'message', room: 'short', text })
  assert.equal((await alice.request({ type: 'message', room: 'short', text: 'late', replyTo: first.seq })).code, 'not_found', 'trimmed')
  const ok = await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'over REST', replyTo: kept.seq, user: 'ops' })
  assert.equal(ok.status, 201)
  assert.equal(ok.body.replyTo, kept.seq)
  assert.equal((await alice.request({ type: 'ping' })).type, 'pong', 'the connection stays usable')
  const stored = (await http(server.url, 'GET', '/rooms/lobby/messages')).body.messages
  assert.deepEqual(texts(stored), ['kept', '', 'over REST'], 'no refused reply was stored')
})

engineTest('history with thread reads the thread\'s replies, not the root, with the paging rules of history', async (start, t) => {
  const server = await start({ CHAT_MSG_RATE: 200 })
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  const root = await alice.request({ type: 'message', room: 'lobby', text: 'root' })
  const other = await alice.request({ type: 'message', room: 'lobby', text: 'another root' })
  for (let i = 1; i <= 7; i++) {
    await alice.request({ type: 'message', room: 'lobby', text: `reply ${i}`, replyTo: root.seq })
    await alice.request({ type: 'message', room: 'lobby', text: `noise ${i}`, replyTo: i % 2 === 0 ? other.seq : undefined })
  }
  const all = await alice.request({ type: 'history', room: 'lobby', thread: root.seq })
  assert.deepEqual(texts(all.messages), [1, 2, 3, 4, 5, 6, 7].map((i) => `reply ${i}`))
  const page = await alice.request({ type: 'history', room: 'lobby', thread: root.seq, limit: 3 })
  assert.deepEqual(texts(page.messages), ['reply 5', 'reply 6', 'reply 7'])
  const older = await alice.request({ type: 'history', room: 'lobby', thread: root.seq, limit: 3, before: page.messages[0].seq })
  assert.deepEqual(texts(older.messages), ['reply 2', 'reply 3', 'reply 4'])
  const rest = await http(server.url, 'GET', `/rooms/lobby/messages?thread=${root.seq}&limit=3&before=${page.messages[0].seq}`)
  assert.deepEqual(rest.body.messages, older.messages, 'the same over REST')
  assert.deepEqual(texts((await alice.request({ type: 'history', room: 'lobby', thread: other.seq })).messages), ['noise 2', 'noise 4', 'noise 6'])
  const reply = all.messages[0]
  assert.deepEqual((await alice.request({ type: 'history', room: 'lobby', thread: reply.seq })).messages, [], 'a reply has no thread of its own')
})

engineTest('deleting replies updates the root: fewer replies, the newest undeleted one, no thread once none is left', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  const root = await alice.request({ type: 'message', room: 'lobby', text: 'root' })
  const first = await bob.request({ type: 'message', room: 'lobby', text: 'first', replyTo: root.seq })
  const second = await bob.request({ type: 'message', room: 'lobby', text: 'second', replyTo: root.seq })
  await sleep(1100)
  alice.frames.length = 0
  await bob.request({ type: 'delete', room: 'lobby', seq: second.seq })
  const afterOne = await alice.next((frame) => updatedOf(root.seq)(frame) && frame.message.thread?.replies === 1, 3000)
  assert.equal(afterOne.message.thread.lastSeq, first.seq, 'the newest undeleted reply')
  const auth = {}
  assert.equal((await http(server.url, 'DELETE', `/rooms/lobby/messages/${first.seq}`, undefined, auth)).status, 204)
  const none = await alice.next((frame) => updatedOf(root.seq)(frame) && frame.message.thread === undefined, 3000)
  assert.equal(none.message.text, 'root')
  const thread = await alice.request({ type: 'history', room: 'lobby', thread: root.seq })
  assert.deepEqual(thread.messages.map((m: Frame) => [m.seq, m.deleted]), [[first.seq, true], [second.seq, true]], 'tombstones keep their place')
})

engineTest('a re-join with since replays the root\'s thread change as updated', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  const root = await alice.request({ type: 'message', room: 'lobby', text: 'root' })
  await bob.next('message')
  await bob.request({ type: 'leave', room: 'lobby' })
  const reply = await alice.request({ type: 'message', room: 'lobby', text: 'reply', replyTo: root.seq })
  await bob.request({ type: 'join', room: 'lobby', since: root.seq })
  const changed = await bob.next(updatedOf(root.seq))
  assert.deepEqual(changed.message.thread, { replies: 1, lastSeq: reply.seq, lastTime: changed.message.thread.lastTime })
  assert.equal((await bob.next('message')).seq, reply.seq)
})

engineTest('a burst of replies reaches members as every reply and a few updated roots, the last one up to date', async (start, t) => {
  const server = await start({ CHAT_MSG_RATE: 1000 })
  const alice = await connectAs(t, server, 'alice')
  const watcher = await connectAs(t, server, 'watcher')
  await alice.join('lobby')
  await watcher.join('lobby')
  const root = await alice.request({ type: 'message', room: 'lobby', text: 'root' })
  await watcher.next('message')
  const started = Date.now()
  await Promise.all(Array.from({ length: 40 }, (_, i) => alice.request({ type: 'message', room: 'lobby', text: `r${i}`, replyTo: root.seq })))
  const burstMs = Date.now() - started
  await watcher.next((frame) => updatedOf(root.seq)(frame) && frame.message.thread.replies === 40, 5000)
  await sleep(1200)
  const roots = 1 + watcher.frames.filter(updatedOf(root.seq)).length
  const replies = watcher.frames.filter((frame) => frame.type === 'message').length
  t.diagnostic(`40 replies in ${burstMs} ms: ${roots} updated roots`)
  assert.equal(replies, 40, 'every reply')
  assert.ok(roots <= 2 + Math.ceil(burstMs / 1000) * 2, `${roots} updated roots for 40 replies in ${burstMs} ms`)
})

nodesTest('a reply on one node updates the root for members on the other', async (start, t) => {
  const { alice, bob } = await aliceAndBobAcrossNodes(start, t)
  const root = await alice.request({ type: 'message', room: 'lobby', text: 'root' })
  await bob.next('message')
  const reply = await bob.request({ type: 'message', room: 'lobby', text: 'reply', replyTo: root.seq })
  const { message } = await alice.next(updatedOf(root.seq), 5000)
  assert.equal(message.thread.lastSeq, reply.seq)
  const thread = await alice.request({ type: 'history', room: 'lobby', thread: root.seq })
  assert.deepEqual(texts(thread.messages), ['reply'])
})
