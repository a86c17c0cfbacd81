import assert from 'node:assert/strict'
import { engineTest, nodesTest } from '../../engines.ts'
import { connectAs, type Frame, http } from '../../helper.ts'
import { startReceiver, webhookConfig } from '../../webhooks/receiver.ts'

engineTest('GET /users/:user/export has the user\'s retained messages, read state, grants, roles and push subscriptions', async (start, t) => {
  const server = await start()
  await http(server.url, 'POST', '/rooms', { id: 'staff', private: true })
  await http(server.url, 'PUT', '/rooms/staff/grants/alice')
  await http(server.url, 'POST', '/rooms', { id: 'lobby' })
  await http(server.url, 'PUT', '/rooms/lobby/roles/alice', { role: 'moderator' })
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  for (const room of ['lobby', 'staff']) await alice.join(room)
  await bob.join('lobby')
  await alice.request({ type: 'message', room: 'lobby', text: 'mine, in the lobby' })
  await bob.request({ type: 'message', room: 'lobby', text: 'bob\'s, not hers' })
  const gone = await alice.request({ type: 'message', room: 'staff', text: 'mine, deleted later' })
  await alice.request({ type: 'message', room: 'staff', text: 'mine, in staff' })
  await alice.request({ type: 'delete', room: 'staff', seq: gone.seq })

  const reply = await http(server.url, 'GET', '/users/alice/export')
  assert.equal(reply.status, 200)
  assert.match(reply.headers.get('content-disposition') ?? '', /attachment; filename="alice.json"/)
  const data = reply.body
  assert.equal(data.user, 'alice')
  assert.ok(!Number.isNaN(Date.parse(data.exportedAt)))
  assert.deepEqual(data.messages.map((m: Frame) => [m.room, m.seq, m.text, m.deleted ?? false]),
    [['lobby', 1, 'mine, in the lobby', false], ['staff', 1, '', true], ['staff', 2, 'mine, in staff', false]])
  assert.deepEqual(data.readState, [{ room: 'lobby', readSeq: 1 }, { room: 'staff', readSeq: 2 }])
  assert.deepEqual(data.grants, ['staff'])
  assert.deepEqual(data.roles, [{ room: 'lobby', role: 'moderator' }])
  assert.deepEqual(data.pushSubscriptions, [])
  const nobody = (await http(server.url, 'GET', '/users/nobody/export')).body
  assert.deepEqual([nobody.messages, nobody.readState, nobody.grants, nobody.roles], [[], [], [], []], 'an unknown user has nothing')
  assert.equal((await http(server.url, 'GET', `/users/${encodeURIComponent('no way')}/export`)).status, 400)
})

engineTest('DELETE /users/:user/messages deletes every retained message of the user: members get updated, webhooks message.deleted', async (start, t) => {
  const receiver = await startReceiver(t)
  const server = await start(webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'message.deleted' }))
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  for (const room of ['lobby', 'side']) {
    await alice.join(room)
    await bob.join(room)
  }
  for (let i = 0; i < 20; i++) await alice.request({ type: 'message', room: i % 2 === 0 ? 'lobby' : 'side', text: `alice ${i}` })
  await bob.request({ type: 'message', room: 'lobby', text: 'bob stays' })

  assert.equal((await http(server.url, 'DELETE', '/users/alice/messages')).status, 204)
  const updated: Frame[] = []
  for (let i = 0; i < 20; i++) updated.push((await bob.next('updated')).message)
  assert.ok(updated.every((message) => message.deleted === true && message.text === '' && message.user === 'alice'))
  for (const room of ['lobby', 'side']) {
    const history = (await http(server.url, 'GET', `/rooms/${room}/messages`)).body.messages
    assert.deepEqual(history.filter((m: Frame) => m.deleted !== true).map((m: Frame) => m.text), room === 'lobby' ? ['bob stays'] : [])
  }
  const events = await receiver.waitFor(20, 'message.deleted')
  assert.equal(new Set(events.map((event) => `${event.room} ${event.data.seq}`)).size, 20)
  receiver.assertAllValid()
  assert.equal((await http(server.url, 'DELETE', '/users/alice/messages')).status, 204, 'again: nothing left to delete')
  assert.equal((await http(server.url, 'GET', '/users/alice/export')).body.messages.filter((m: Frame) => m.deleted !== true).length, 0)
})

engineTest('a user\'s data needs the admin token', async (start) => {
  const server = await start({ CHAT_ADMIN_TOKEN: 'secret-admin-token' })
  assert.equal((await http(server.url, 'GET', '/users/alice/export')).status, 401)
  assert.equal((await http(server.url, 'DELETE', '/users/alice/messages')).status, 401)
  assert.equal((await http(server.url, 'GET', '/users/alice/export', undefined, { authorization: 'Bearer secret-admin-token' })).status, 200)
})

nodesTest('messages written on two nodes are exported and deleted from either', async (start, t) => {
  const a = await start()
  const b = await start()
  const onA = await connectAs(t, a, 'alice')
  const onB = await connectAs(t, b, 'alice')
  await onA.join('one')
  await onB.join('two')
  await onA.request({ type: 'message', room: 'one', text: 'from a' })
  await onB.request({ type: 'message', room: 'two', text: 'from b' })
  assert.deepEqual((await http(b.url, 'GET', '/users/alice/export')).body.messages.map((m: Frame) => m.text), ['from a', 'from b'])
  assert.equal((await http(b.url, 'DELETE', '/users/alice/messages')).status, 204)
  assert.equal((await onA.next('updated')).message.deleted, true, 'the member on the other node is told')
})
