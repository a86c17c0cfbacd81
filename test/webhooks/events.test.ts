import assert from 'node:assert/strict'
import { connectAs, http } from '../helper.ts'
import { engineTest } from '../engines.ts'
import { type ReceivedEvent, startReceiver, webhookConfig } from './receiver.ts'

const summary = (event: ReceivedEvent) => `${event.type} ${event.room} ${JSON.stringify(event.data.user ?? event.data.text ?? event.data.name ?? event.data.id ?? '')}`

engineTest('every event type comes from the action it reports, signed, with the data the contract names', async (start, t) => {
  const receiver = await startReceiver(t)
  const server = await start(webhookConfig([receiver]))

  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'staff', name: 'Staff', private: true })).status, 201)
  const created = (await receiver.waitFor(1, 'room.created'))[0]!
  assert.deepEqual(created.data, { id: 'staff', name: 'Staff', private: true, historyLimit: 1000, slowModeMs: 0, retentionDays: null, online: 0, createdAt: created.data.createdAt })
  assert.equal(created.time, created.data.createdAt, 'time is when the room was made')

  assert.equal((await http(server.url, 'PUT', '/rooms/staff/grants/alice')).status, 204)
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('staff')
  await receiver.waitFor(1, 'presence.join')
  await bob.join('lobby') // auto-created: room.created, then bob's join

  const sent = await alice.request({ type: 'message', room: 'staff', text: 'helo', clientId: 'c-1' })
  await alice.request({ type: 'edit', room: 'staff', seq: sent.seq, text: 'hello' })
  await alice.request({ type: 'delete', room: 'staff', seq: sent.seq })
  assert.equal((await http(server.url, 'PATCH', '/rooms/staff', { name: 'Staff room' })).status, 200)
  assert.equal((await http(server.url, 'DELETE', '/rooms/staff/grants/alice')).status, 204)
  await alice.next('kicked')
  assert.equal((await http(server.url, 'DELETE', '/rooms/staff')).status, 204)
  bob.close()
  await receiver.waitFor(2, 'presence.leave')
  await receiver.waitFor(1, 'room.deleted')

  const staff = receiver.delivered.filter((event) => event.room === 'staff')
  assert.deepEqual(staff.map(summary), [
    'room.created staff "Staff"',
    'presence.join staff "alice"',
    'message.created staff "alice"',
    'message.edited staff "alice"',
    'message.deleted staff "alice"',
    'room.updated staff "Staff room"',
    'member.kicked staff "alice"',
    'presence.leave staff "alice"',
    'room.deleted staff "staff"'
  ])
  const [, , message, edited, deleted, updated, kicked, , removed] = staff
  assert.deepEqual(message!.data, { room: 'staff', seq: sent.seq, id: sent.id, user: 'alice', text: 'helo', time: message!.time, clientId: 'c-1' })
  assert.equal(edited!.data.text, 'hello')
  assert.equal(edited!.data.version, 2)
  assert.equal(edited!.time, edited!.data.editedAt, 'an edit happens when the message says it was edited')
  assert.equal(deleted!.data.deleted, true)
  assert.equal(deleted!.data.text, '')
  assert.equal(deleted!.time, deleted!.data.deletedAt)
  assert.equal(updated!.data.name, 'Staff room')
  assert.equal(updated!.data.online, 1, 'alice was in the room when it was renamed')
  assert.deepEqual(kicked!.data, { user: 'alice', reason: 'access revoked' })
  assert.deepEqual(removed!.data, { id: 'staff' }, 'the event outlives its room')

  const lobby = receiver.delivered.filter((event) => event.room === 'lobby').map(summary)
  assert.deepEqual(lobby, ['room.created lobby "lobby"', 'presence.join lobby "bob"', 'presence.leave lobby "bob"'])
  assert.equal(new Set(receiver.delivered.map((event) => event.id)).size, receiver.delivered.length, 'every event has its own id')
  receiver.assertAllValid()
})

engineTest('CHAT_WEBHOOK_EVENTS: only the chosen types are sent; the others are not recorded', async (start, t) => {
  const receiver = await startReceiver(t)
  const server = await start(webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'message.created,room.deleted' }))
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  await alice.request({ type: 'message', room: 'lobby', text: 'one' })
  await alice.request({ type: 'edit', room: 'lobby', seq: 1, text: 'uno' })
  await alice.request({ type: 'message', room: 'lobby', text: 'two' })
  assert.equal((await http(server.url, 'DELETE', '/rooms/lobby')).status, 204)
  await receiver.waitFor(1, 'room.deleted')
  assert.deepEqual(receiver.delivered.map((event) => event.type), ['message.created', 'message.created', 'room.deleted'])
  assert.deepEqual(receiver.delivered.slice(0, 2).map((event) => event.data.text), ['one', 'two'])
  receiver.assertAllValid()
})

engineTest('a presence event is sent whether or not others are in the room, once per user', async (start, t) => {
  const receiver = await startReceiver(t)
  const server = await start(webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'presence.join,presence.leave' }))
  const first = await connectAs(t, server, 'alice')
  const second = await connectAs(t, server, 'alice')
  await first.join('quiet')
  await second.join('quiet')
  await first.request({ type: 'leave', room: 'quiet' })
  await receiver.waitFor(1, 'presence.join')
  second.close()
  await receiver.waitFor(1, 'presence.leave')
  assert.deepEqual(receiver.delivered.map(summary), ['presence.join quiet "alice"', 'presence.leave quiet "alice"'])
})
