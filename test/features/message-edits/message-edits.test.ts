import assert from 'node:assert/strict'
import { connectAs, type Frame, http, type TestClient } from '../../helper.ts'
import { engineTest, nodesTest, aliceAndBobAcrossNodes } from '../../engines.ts'

const updatedOf = (seq: number) => (frame: Frame) => frame.type === 'updated' && frame.message.seq === seq

/** A client's view of a room: the latest state of every message it has seen, by seq. */
class RoomView {
  readonly messages = new Map<number, Frame>()
  apply (frame: Frame): void {
    if (frame.type === 'message') {
      const { type: _type, ...message } = frame
      this.messages.set(frame.seq, message)
    } else if (frame.type === 'updated') {
      this.messages.set(frame.message.seq, frame.message)
    }
  }

  /** Every frame the client has queued, applied in order. */
  drain (client: TestClient): void {
    for (const frame of client.frames.splice(0)) this.apply(frame)
  }

  sorted (): Frame[] {
    return [...this.messages.entries()].sort(([a], [b]) => a - b).map(([, message]) => message)
  }
}

engineTest('the author edits a message: every member gets the whole message, the author an ack', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  const sent = await alice.request({ type: 'message', room: 'lobby', text: 'helo', clientId: 'c1' })
  await bob.next('message')
  await alice.next('message')

  const ack = await alice.request({ type: 'edit', room: 'lobby', seq: sent.seq, text: 'hello' })
  assert.deepEqual(ack, { type: 'ack', ref: ack.ref, room: 'lobby', seq: sent.seq, id: sent.id })
  for (const client of [alice, bob]) {
    const updated = await client.next('updated')
    assert.equal(updated.room, 'lobby')
    assert.deepEqual(Object.keys(updated).sort(), ['message', 'room', 'type'])
    const { message } = updated
    assert.equal(message.seq, sent.seq)
    assert.equal(message.id, sent.id)
    assert.equal(message.text, 'hello')
    assert.equal(message.version, 2)
    assert.equal(message.user, 'alice')
    assert.equal(message.clientId, 'c1', 'the whole message, clientId included')
    assert.ok(!Number.isNaN(Date.parse(message.editedAt)))
  }
  await alice.request({ type: 'edit', room: 'lobby', seq: sent.seq, text: 'hello!' })
  assert.equal((await bob.next('updated')).message.version, 3)

  const overWs = await bob.request({ type: 'history', room: 'lobby' })
  const overRest = await http(server.url, 'GET', '/rooms/lobby/messages')
  for (const messages of [overWs.messages, overRest.body.messages]) {
    assert.deepEqual(messages.map((m: Frame) => [m.seq, m.text, m.version]), [[1, 'hello!', 3]], 'history shows the message as it is now')
  }
  assert.equal((await alice.request({ type: 'message', room: 'lobby', text: 'next' })).seq, 2, 'an edit takes no seq')
})

engineTest('edit and delete refusals: forbidden for others, not_found, bad_request; the connection stays usable', async (start, t) => {
  const server = await start({ CHAT_MAX_TEXT: 10 })
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  const { seq } = await alice.request({ type: 'message', room: 'lobby', text: 'mine' })

  const expectError = async (client: TestClient, frame: Frame, code: string, pattern?: RegExp) => {
    const reply = await client.request(frame)
    assert.equal(reply.type, 'error', JSON.stringify(frame))
    assert.equal(reply.code, code, JSON.stringify(reply))
    if (pattern !== undefined) assert.match(reply.message, pattern)
  }
  await expectError(bob, { type: 'edit', room: 'lobby', seq, text: 'not yours' }, 'forbidden', /author/)
  await expectError(bob, { type: 'delete', room: 'lobby', seq }, 'forbidden', /author/)
  await expectError(alice, { type: 'edit', room: 'lobby', seq: 99, text: 'x' }, 'not_found')
  await expectError(alice, { type: 'delete', room: 'lobby', seq: 99 }, 'not_found')
  await expectError(alice, { type: 'edit', room: 'nowhere', seq: 1, text: 'x' }, 'not_found')
  await expectError(alice, { type: 'edit', room: 'lobby', seq, text: '' }, 'bad_request')
  await expectError(alice, { type: 'edit', room: 'lobby', seq, text: 'x'.repeat(11) }, 'bad_request', /at most 10/)
  await expectError(alice, { type: 'edit', room: 'lobby', seq: 0, text: 'x' }, 'not_found', /not retained/)
  await expectError(alice, { type: 'edit', room: 'lobby', seq: -1, text: 'x' }, 'bad_request')
  await expectError(alice, { type: 'delete', room: 'lobby', seq: 'one' }, 'bad_request')
  await bob.nothing('updated', 200)
  assert.equal((await alice.request({ type: 'ping' })).type, 'pong')
})

engineTest('delete leaves a tombstone that keeps its seq; a second delete changes nothing', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  for (const text of ['one', 'two', 'three']) await alice.request({ type: 'message', room: 'lobby', text })
  alice.frames.length = 0
  bob.frames.length = 0

  const ack = await alice.request({ type: 'delete', room: 'lobby', seq: 2 })
  assert.equal(ack.type, 'ack')
  assert.equal(ack.seq, 2)
  const updated = await bob.next('updated')
  assert.equal(updated.message.deleted, true)
  assert.equal(updated.message.text, '')
  assert.equal(updated.message.seq, 2)
  assert.ok(!Number.isNaN(Date.parse(updated.message.deletedAt)))
  await alice.next('updated')

  const again = await alice.request({ type: 'delete', room: 'lobby', seq: 2 })
  assert.deepEqual({ ...again, ref: undefined }, { ...ack, ref: undefined }, 'answered as the first delete was')
  await bob.nothing('updated', 300)

  const edit = await alice.request({ type: 'edit', room: 'lobby', seq: 2, text: 'back' })
  assert.equal(edit.code, 'not_found', 'a deleted message cannot be edited')

  const { body } = await http(server.url, 'GET', '/rooms/lobby/messages')
  assert.deepEqual(body.messages.map((m: Frame) => [m.seq, m.text, m.deleted ?? false]), [[1, 'one', false], [2, '', true], [3, 'three', false]])
  const replay = await connectAs(t, server, 'carol')
  await replay.join('lobby', { since: 0 })
  const replayed = [await replay.next('message'), await replay.next('message'), await replay.next('message')]
  assert.deepEqual(replayed.map((m) => [m.seq, m.text, m.deleted ?? false]), [[1, 'one', false], [2, '', true], [3, 'three', false]],
    'replays show messages as they are now, contiguous')
})

engineTest('an operator edits and deletes any message over REST', async (start, t) => {
  const server = await start({ CHAT_ADMIN_TOKEN: 'admin-secret' })
  const auth = { authorization: 'Bearer admin-secret' }
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  const { seq } = await alice.request({ type: 'message', room: 'lobby', text: 'spam' })
  await alice.next('message')

  assert.equal((await http(server.url, 'DELETE', `/rooms/lobby/messages/${seq}`)).status, 401, 'the admin token guards it')
  const edited = await http(server.url, 'PATCH', `/rooms/lobby/messages/${seq}`, { text: 'moderated' }, auth)
  assert.equal(edited.status, 200)
  assert.equal(edited.body.text, 'moderated')
  assert.equal(edited.body.version, 2)
  assert.equal((await alice.next('updated')).message.text, 'moderated')

  const deleted = await http(server.url, 'DELETE', `/rooms/lobby/messages/${seq}`, undefined, auth)
  assert.equal(deleted.status, 204)
  assert.equal((await alice.next('updated')).message.deleted, true)
  assert.equal((await http(server.url, 'DELETE', `/rooms/lobby/messages/${seq}`, undefined, auth)).status, 204, 'again: 204')
  await alice.nothing('updated', 200)
  assert.equal((await http(server.url, 'PATCH', `/rooms/lobby/messages/${seq}`, { text: 'x' }, auth)).status, 404)
  for (const path of ['/rooms/lobby/messages/99', '/rooms/lobby/messages/0', '/rooms/nowhere/messages/1']) {
    const missing = await http(server.url, 'DELETE', path, undefined, auth)
    assert.equal(missing.status, 404, path)
    assert.match(missing.body.message, /not retained|does not exist/)
  }
  for (const path of ['/rooms/lobby/messages/-1', '/rooms/lobby/messages/x', '/rooms/lobby/messages/1.5']) {
    assert.equal((await http(server.url, 'DELETE', path, undefined, auth)).status, 400, path)
  }
})

engineTest('a rejoin with since gets the changes it missed, then the new messages: its view equals a client that stayed', async (start, t) => {
  const server = await start({ CHAT_MSG_RATE: 200 })
  const stayer = await connectAs(t, server, 'stayer')
  const writer = await connectAs(t, server, 'writer')
  const away = await connectAs(t, server, 'away')
  for (const client of [stayer, writer, away]) await client.join('busy')
  const stayed = new RoomView()
  const awayView = new RoomView()

  for (let i = 1; i <= 10; i++) await writer.request({ type: 'message', room: 'busy', text: `m${i}` })
  await away.next((frame) => frame.type === 'message' && frame.seq === 10)
  awayView.drain(away)
  away.ws.terminate()

  // While it is away: older messages change, new ones come and change too.
  await writer.request({ type: 'edit', room: 'busy', seq: 3, text: 'm3 edited' })
  await writer.request({ type: 'delete', room: 'busy', seq: 5 })
  await writer.request({ type: 'message', room: 'busy', text: 'm11' })
  await writer.request({ type: 'edit', room: 'busy', seq: 11, text: 'm11 edited' })
  await writer.request({ type: 'edit', room: 'busy', seq: 3, text: 'm3 edited twice' })

  // It comes back while the writer keeps editing and sending.
  const back = await connectAs(t, server, 'away')
  let sending = true
  const traffic = (async () => {
    // eslint-disable-next-line no-unmodified-loop-condition -- the test clears sending while the loop awaits
    for (let i = 0; sending && i < 40; i++) {
      await writer.request({ type: 'message', room: 'busy', text: `live ${i}` })
      await writer.request({ type: 'edit', room: 'busy', seq: 1 + (i % 10), text: `edit ${i}` })
    }
  })()
  const arrived: Frame[] = []
  back.ws.on('message', (data) => arrived.push(JSON.parse(data.toString()) as Frame))
  const joined = await back.join('busy', { since: 10 })
  assert.equal(joined.recovered, true)
  await new Promise((resolve) => setTimeout(resolve, 300))
  sending = false
  await traffic
  const last = await writer.request({ type: 'message', room: 'busy', text: 'the end' })
  for (const [client, view] of [[stayer, stayed], [back, awayView]] as const) {
    const end = await client.next((frame) => frame.type === 'message' && frame.seq === last.seq, 10_000)
    view.drain(client)
    view.apply(end)
  }
  // joined first; the changes of seq <= 10 before any message of seq > 10.
  assert.equal(arrived[0]?.type, 'joined')
  const firstMessage = arrived.findIndex((frame) => frame.type === 'message')
  const changesOfOld = arrived.slice(1, firstMessage)
  assert.ok(changesOfOld.every((frame) => frame.type === 'updated'), JSON.stringify(changesOfOld.map((frame) => frame.type)))
  assert.ok(changesOfOld.some((frame) => frame.message.seq === 3), 'the edit of 3 is recovered')
  assert.ok(changesOfOld.some((frame) => frame.message.seq === 5 && frame.message.deleted === true), 'the delete of 5')
  assert.deepEqual(awayView.sorted(), stayed.sorted(), 'the same view as a client that never left')
  const { body } = await http(server.url, 'GET', '/rooms/busy/messages?limit=100')
  assert.deepEqual(stayed.sorted(), body.messages, 'and the same as history')
})

engineTest('an author who may still read a room edits without joining it; a private room without a grant is forbidden', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  const { seq } = await alice.request({ type: 'message', room: 'lobby', text: 'x' })
  await alice.request({ type: 'leave', room: 'lobby' })
  assert.equal((await alice.request({ type: 'edit', room: 'lobby', seq, text: 'y' })).type, 'ack')

  await http(server.url, 'POST', '/rooms', { id: 'vault', private: true })
  await http(server.url, 'PUT', '/rooms/vault/grants/alice')
  await alice.join('vault')
  const secret = await alice.request({ type: 'message', room: 'vault', text: 'secret' })
  await alice.request({ type: 'leave', room: 'vault' })
  await http(server.url, 'DELETE', '/rooms/vault/grants/alice')
  const refused = await alice.request({ type: 'delete', room: 'vault', seq: secret.seq })
  assert.equal(refused.code, 'forbidden')
})

nodesTest('an edit on one node reaches members on the other, and recovery there includes it', async (start, t) => {
  const { b, alice, bob } = await aliceAndBobAcrossNodes(start, t)
  const { seq } = await alice.request({ type: 'message', room: 'lobby', text: 'first' })
  await bob.next('message')
  await alice.request({ type: 'edit', room: 'lobby', seq, text: 'first, edited on a' })
  assert.equal((await bob.next(updatedOf(seq))).message.text, 'first, edited on a')
  bob.ws.terminate()
  await alice.request({ type: 'delete', room: 'lobby', seq })
  const again = await connectAs(t, b, 'bob')
  await again.join('lobby', { since: seq })
  const recovered = await again.next(updatedOf(seq))
  assert.equal(recovered.message.deleted, true)
})
