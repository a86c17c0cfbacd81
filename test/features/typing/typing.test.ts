import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, connectAs, type Frame, spawnServer } from '../../helper.ts'
import { engineTest, nodesTest, aliceAndBobAcrossNodes } from '../../engines.ts'
import { startRedis } from '../../redis-helper.ts'

const typingOf = (users: string[]) => (frame: Frame) => frame.type === 'typing' && JSON.stringify(frame.users) === JSON.stringify(users)

engineTest('typing: every member gets the sorted set when it changes, and only then', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  const carol = await connectAs(t, server, 'carol')
  for (const client of [alice, bob, carol]) await client.join('lobby')

  bob.send({ type: 'typing', room: 'lobby', ref: 't1' })
  for (const client of [alice, bob, carol]) {
    const frame = await client.next('typing')
    assert.deepEqual(frame, { type: 'typing', room: 'lobby', users: ['bob'] }, 'the typer included; no ref, no other reply')
  }
  bob.send({ type: 'typing', room: 'lobby', active: true })
  await alice.nothing('typing', 300)
  alice.send({ type: 'typing', room: 'lobby' })
  assert.deepEqual((await carol.next('typing')).users, ['alice', 'bob'], 'sorted')
  bob.send({ type: 'typing', room: 'lobby', active: false })
  assert.deepEqual((await carol.next('typing')).users, ['alice'])
  bob.send({ type: 'typing', room: 'lobby', active: false })
  await carol.nothing('typing', 300)
  assert.deepEqual(bob.frames.filter((frame) => frame.ref !== undefined), [], 'typing frames get no reply')
})

engineTest('typing stops on a message, on leaving and on the last connection closing; not before', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  const bobToo = await connectAs(t, server, 'bob')
  for (const client of [alice, bob, bobToo]) await client.join('lobby')

  bob.send({ type: 'typing', room: 'lobby' })
  await alice.next(typingOf(['bob']))
  await bob.request({ type: 'message', room: 'lobby', text: 'done typing' })
  await alice.next(typingOf([]))

  bob.send({ type: 'typing', room: 'lobby' })
  await alice.next(typingOf(['bob']))
  bob.close()
  await alice.nothing(typingOf([]), 500)
  bobToo.send({ type: 'leave', room: 'lobby' })
  await alice.next(typingOf([]))

  const carol = await connectAs(t, server, 'carol')
  await carol.join('lobby')
  carol.send({ type: 'typing', room: 'lobby' })
  await alice.next(typingOf(['carol']))
  carol.ws.terminate()
  await alice.next(typingOf([]))
})

engineTest('typing expires 5 s after the last frame', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  const started = Date.now()
  bob.send({ type: 'typing', room: 'lobby' })
  await alice.next(typingOf(['bob']))
  await new Promise((resolve) => setTimeout(resolve, 2500))
  bob.send({ type: 'typing', room: 'lobby' })
  await alice.next(typingOf([]), 10_000)
  assert.ok(Date.now() - started >= 7000, 'a repeat prolongs it: it ends 5 s after the last frame, not the first')
}, { timeout: 30_000 })

engineTest('typing is for members only', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const reply = await alice.request({ type: 'typing', room: 'lobby' })
  assert.equal(reply.type, 'error')
  assert.equal(reply.code, 'not_member')
  const bad = await alice.request({ type: 'typing', room: 'lobby', active: 'yes' })
  assert.equal(bad.code, 'bad_request')
})

nodesTest('typing on one node reaches members on the other', async (start, t) => {
  const { alice, bob } = await aliceAndBobAcrossNodes(start, t)
  alice.send({ type: 'typing', room: 'lobby' })
  await bob.next(typingOf(['alice']))
  bob.send({ type: 'typing', room: 'lobby' })
  await alice.next(typingOf(['alice', 'bob']))
  await alice.request({ type: 'message', room: 'lobby', text: 'sent on a' })
  await bob.next(typingOf(['bob']))
})

test('redis, two processes: the typers of a killed node are gone within the expiry', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const env = { REDIS_URL: redis.url }
  const doomed = await spawnServer(t, env)
  const survivor = await spawnServer(t, env)
  const { client: alice } = await connect(`${doomed.wsUrl}?user=alice`)
  t.after(() => alice.ws.terminate())
  const { client: bob } = await connect(`${survivor.wsUrl}?user=bob`)
  t.after(() => bob.ws.terminate())
  await alice.join('lobby')
  await bob.join('lobby')
  alice.send({ type: 'typing', room: 'lobby' })
  await bob.next(typingOf(['alice']))
  doomed.child.kill('SIGKILL')
  await doomed.exited
  await bob.next(typingOf([]), 15_000)
})
