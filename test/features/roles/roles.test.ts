import assert from 'node:assert/strict'
import { test } from 'node:test'
import { engineTest, nodesTest } from '../../engines.ts'
import { connect, connectAs, http, startServer } from '../../helper.ts'
import { inSeconds, signHs256 } from '../../security/jwt.ts'

const SECRET = 'a-secret-of-at-least-thirty-two-characters!'

engineTest('roles are given, listed and taken away over REST; joined carries the role; bad input changes nothing', async (start, t) => {
  const server = await start()
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'lobby' })).status, 201)
  assert.equal((await http(server.url, 'PUT', '/rooms/lobby/roles/alice', { role: 'moderator' })).status, 204)
  assert.equal((await http(server.url, 'PUT', '/rooms/lobby/roles/olga', { role: 'owner' })).status, 204)
  const unknownRoom = await http(server.url, 'PUT', '/rooms/nowhere/roles/alice', { role: 'moderator' })
  assert.equal(unknownRoom.status, 404)
  const badRole = await http(server.url, 'PUT', '/rooms/lobby/roles/bob', { role: 'king' })
  assert.equal(badRole.status, 400)
  assert.match(badRole.body.message, /role/)
  assert.equal((await http(server.url, 'PUT', '/rooms/lobby/roles/bad%20id', { role: 'owner' })).status, 400)
  assert.deepEqual((await http(server.url, 'GET', '/rooms/lobby/roles')).body, { roles: [{ user: 'alice', role: 'moderator' }, { user: 'olga', role: 'owner' }] })
  assert.equal((await http(server.url, 'GET', '/rooms/nowhere/roles')).status, 404)

  const alice = await connectAs(t, server, 'alice')
  assert.equal((await alice.join('lobby')).role, 'moderator')
  const olga = await connectAs(t, server, 'olga')
  assert.equal((await olga.join('lobby')).role, 'owner')
  const bob = await connectAs(t, server, 'bob')
  assert.ok(!('role' in await bob.join('lobby')), 'no role: no field')

  assert.equal((await http(server.url, 'DELETE', '/rooms/lobby/roles/alice')).status, 204)
  assert.equal((await http(server.url, 'DELETE', '/rooms/lobby/roles/alice')).status, 204, 'again: nothing to take away')
  assert.ok(!('role' in await alice.join('lobby')), 'a re-join sees the role gone')
  assert.deepEqual((await http(server.url, 'GET', '/rooms/lobby/roles')).body.roles, [{ user: 'olga', role: 'owner' }])
  // Roles go with their room.
  assert.equal((await http(server.url, 'DELETE', '/rooms/lobby')).status, 204)
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'lobby' })).status, 201)
  assert.deepEqual((await http(server.url, 'GET', '/rooms/lobby/roles')).body.roles, [])
})

engineTest('a moderator deletes any message of its room, joined or not; the power ends when the role is taken away', async (start, t) => {
  const server = await start()
  const bob = await connectAs(t, server, 'bob')
  const carol = await connectAs(t, server, 'carol')
  await bob.join('lobby')
  await carol.join('lobby')
  const first = await bob.request({ type: 'message', room: 'lobby', text: 'first' })
  const second = await bob.request({ type: 'message', room: 'lobby', text: 'second' })
  const alice = await connectAs(t, server, 'alice')
  const refused = await alice.request({ type: 'delete', room: 'lobby', seq: first.seq })
  assert.equal(refused.code, 'forbidden', 'without a role, only the author deletes')
  await http(server.url, 'PUT', '/rooms/lobby/roles/alice', { role: 'moderator' })
  const deleted = await alice.request({ type: 'delete', room: 'lobby', seq: first.seq })
  assert.equal(deleted.type, 'ack', 'a moderator need not join')
  const seen = await carol.next((frame) => frame.type === 'updated')
  assert.equal(seen.message.seq, first.seq)
  assert.equal(seen.message.deleted, true)
  await http(server.url, 'DELETE', '/rooms/lobby/roles/alice')
  await alice.join('lobby')
  const after = await alice.request({ type: 'delete', room: 'lobby', seq: second.seq })
  assert.equal(after.code, 'forbidden', 'at the next frame, the role is gone')
})

test('a token with roles: ["moderator"] makes its user a moderator of every room', async (t) => {
  const server = await startServer(t, { CHAT_JWT_SECRET: SECRET })
  const tokenOf = (claims: Record<string, unknown>) => signHs256({ exp: inSeconds(600), ...claims }, SECRET)
  const { client: mod } = await connect(`${server.wsUrl}?token=${tokenOf({ sub: 'mod', roles: ['moderator'] })}`)
  const { client: bob } = await connect(`${server.wsUrl}?token=${tokenOf({ sub: 'bob', roles: ['king'] })}`)
  t.after(() => { mod.close(); bob.close() })
  assert.ok(!('role' in await bob.join('anywhere')), 'an unknown role in the claim gives nothing')
  const sent = await bob.request({ type: 'message', room: 'anywhere', text: 'hi' })
  assert.equal((await mod.join('anywhere')).role, 'moderator')
  assert.equal((await mod.request({ type: 'delete', room: 'anywhere', seq: sent.seq })).type, 'ack')
})

nodesTest('a role given on one node holds on the other at once', async (start, t) => {
  const a = await start()
  const b = await start()
  await http(a.url, 'POST', '/rooms', { id: 'lobby' })
  assert.equal((await http(a.url, 'PUT', '/rooms/lobby/roles/alice', { role: 'owner' })).status, 204)
  const alice = await connectAs(t, b, 'alice')
  assert.equal((await alice.join('lobby')).role, 'owner')
  assert.deepEqual((await http(b.url, 'GET', '/rooms/lobby/roles')).body.roles, [{ user: 'alice', role: 'owner' }])
})
