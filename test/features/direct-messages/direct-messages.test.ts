import assert from 'node:assert/strict'
import { test } from 'node:test'
import { dmRoomId } from '../../../src/features/direct-messages/direct-messages.ts'
import { engineTest, nodesTest } from '../../engines.ts'
import { client } from '../../client/client-helper.ts'
import { connectAs, type Frame, http } from '../../helper.ts'

test('a DM room id depends on the set of users only, and matches the id pattern', () => {
  assert.equal(dmRoomId(['bob', 'alice']), dmRoomId(['alice', 'bob']))
  assert.notEqual(dmRoomId(['alice', 'bob']), dmRoomId(['alice', 'carol']))
  assert.match(dmRoomId(['alice', 'bob']), /^dm-[0-9a-f]{40}$/)
})

engineTest('open_dm gives the same private room for the same people whoever asks; only they may join; POST /dms agrees', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  const eve = await connectAs(t, server, 'eve')
  const opened = await alice.request({ type: 'open_dm', users: ['bob', 'alice'] })
  assert.deepEqual([opened.type, opened.users], ['dm', ['alice', 'bob']])
  const again = await bob.request({ type: 'open_dm', users: ['alice'] })
  assert.equal(again.room, opened.room)
  assert.deepEqual((await http(server.url, 'POST', '/dms', { users: ['bob', 'alice'] })).body, { room: opened.room, users: ['alice', 'bob'] })
  await alice.join(opened.room)
  await bob.join(opened.room)
  assert.equal((await eve.request({ type: 'join', room: opened.room })).code, 'forbidden')
  const group = await eve.request({ type: 'open_dm', users: ['alice', 'bob'] })
  assert.notEqual(group.room, opened.room, 'three people: another room')
  assert.deepEqual(group.users, ['alice', 'bob', 'eve'])
  // Bad input changes nothing.
  assert.equal((await alice.request({ type: 'open_dm', users: ['alice'] })).code, 'bad_request')
  assert.equal((await alice.request({ type: 'open_dm', users: [] })).code, 'bad_request')
  assert.equal((await alice.request({ type: 'open_dm', users: Array.from({ length: 10 }, (_v, i) => `u${i}`) })).code, 'bad_request')
  assert.equal((await alice.request({ type: 'open_dm', users: ['bad id'] })).code, 'bad_request')
  assert.equal((await http(server.url, 'POST', '/dms', { users: ['alice', 'alice'] })).status, 400)
  assert.equal((await http(server.url, 'POST', '/dms', { users: ['alice'] })).status, 400)
})

engineTest('the rooms list: read seqs, grants and DMs, newest message first, with unread, mentions and the newest message', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  await bob.request({ type: 'message', room: 'lobby', text: 'hello @alice' })
  await http(server.url, 'POST', '/rooms', { id: 'staff', private: true })
  await http(server.url, 'PUT', '/rooms/staff/grants/alice')
  const dm = await bob.request({ type: 'open_dm', users: ['alice'] })
  await bob.join(dm.room)
  await bob.request({ type: 'message', room: dm.room, text: 'psst' })
  await http(server.url, 'POST', '/rooms', { id: 'elsewhere' })

  const answer = await alice.request({ type: 'rooms' })
  assert.equal(answer.type, 'rooms')
  const rows = answer.rooms.map((entry: Frame) => [entry.room, entry.dm, entry.private, entry.seq, entry.readSeq, entry.unread, entry.mentions, entry.last?.text ?? null])
  assert.deepEqual(rows, [
    [dm.room, true, true, 1, 0, 1, 0, 'psst'],
    ['lobby', false, false, 1, 0, 1, 1, 'hello @alice'],
    ['staff', false, true, 0, 0, 0, 0, null]
  ])
  const overRest = await http(server.url, 'GET', '/users/alice/rooms')
  assert.deepEqual(overRest.body.rooms, answer.rooms)
  alice.send({ type: 'read', room: 'lobby', seq: 1 })
  await alice.next((frame) => frame.type === 'read' && frame.user === 'alice')
  const after = await http(server.url, 'GET', '/users/alice/rooms')
  assert.deepEqual(after.body.rooms.find((entry: Frame) => entry.room === 'lobby').unread, 0)
  assert.deepEqual((await http(server.url, 'GET', '/users/nobody/rooms')).body, { rooms: [] })
})

nodesTest('a DM opened on one node is the same room on the other, listed there', async (start, t) => {
  const a = await start()
  const b = await start()
  const alice = await connectAs(t, a, 'alice')
  const bob = await connectAs(t, b, 'bob')
  const first = await alice.request({ type: 'open_dm', users: ['bob'] })
  const second = await bob.request({ type: 'open_dm', users: ['alice'] })
  assert.equal(first.room, second.room)
  assert.deepEqual((await bob.request({ type: 'rooms' })).rooms.map((entry: Frame) => [entry.room, entry.dm]), [[first.room, true]])
})

engineTest('the SDK opens a DM and lists the rooms', async (start, t) => {
  const server = await start()
  const alice = client(t, { url: server.wsUrl, user: 'alice' })
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  await alice.connect()
  await bob.connect()
  const dm = await alice.openDm(['bob'])
  assert.deepEqual(dm.users, ['alice', 'bob'])
  assert.equal((await bob.openDm(['alice'])).room, dm.room)
  await bob.join(dm.room)
  await bob.send(dm.room, 'hi alice')
  const rooms = await alice.roomsList()
  assert.deepEqual(rooms.map((entry) => [entry.room, entry.dm, entry.unread, entry.last?.text]), [[dm.room, true, 1, 'hi alice']])
})
