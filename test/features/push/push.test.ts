import assert from 'node:assert/strict'
import { engineTest } from '../../engines.ts'
import { connectAs, http } from '../../helper.ts'
import { awayUser, pushConfig, pushKey, pushService, VAPID } from './push-helpers.ts'

engineTest('GET /push/key gives the VAPID public key; an away member is pushed each message, coalesced per window', async (start, t) => {
  const service = await pushService(t)
  const server = await start(pushConfig())
  const key = await pushKey(server)
  assert.equal(key.status, 200)
  assert.deepEqual(key.body, { key: VAPID.publicKey })

  const alice = await connectAs(t, server, 'alice')
  const subscription = service.subscription('alice')
  await awayUser(alice, 'lobby', subscription)
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  const first = await bob.request({ type: 'message', room: 'lobby', text: 'hello @alice ' + 'é'.repeat(300) })
  await service.waitFor((received) => received.length === 1)
  const push = service.received[0]!
  assert.deepEqual(push.json(), { type: 'message', room: 'lobby', seq: first.seq, user: 'bob', text: 'hello @alice ' + 'é'.repeat(187), mentions: ['alice'] })
  assert.equal(push.vapid.key, VAPID.publicKey)
  assert.ok(push.ttl > 0)

  // Within the window: one push at its end, with the newest.
  await bob.request({ type: 'message', room: 'lobby', text: 'second' })
  const third = await bob.request({ type: 'message', room: 'lobby', text: 'third' })
  await service.waitFor((received) => received.length === 2)
  assert.deepEqual(service.received[1]!.json(), { type: 'message', room: 'lobby', seq: third.seq, user: 'bob', text: 'third' })
  assert.ok(service.received[1]!.at - service.received[0]!.at >= 250, 'the second push waits for the window to end')
  await new Promise((resolve) => setTimeout(resolve, 700))
  assert.equal(service.received.length, 2, 'nothing more')
  assert.deepEqual(service.rejected, [])
})

engineTest('without Web Push, /push/key is 404; bad subscriptions are refused', async (start, t) => {
  const plain = await start()
  assert.equal((await pushKey(plain)).status, 404)
  const server = await start(pushConfig({ CHAT_PUSH_ALLOWED_HOSTS: 'push.internal' }))
  const alice = await connectAs(t, server, 'alice')
  const keys = { p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url'), auth: Buffer.alloc(16, 2).toString('base64url') }
  for (const endpoint of ['http://push.example.com/x', 'https://127.0.0.1/x', 'https://10.1.2.3/x', 'https://[::1]/x', 'https://169.254.169.254/x', 'https://localhost/x', 'not a url']) {
    const reply = await alice.request({ type: 'push_subscribe', subscription: { endpoint, keys } })
    assert.equal(reply.type, 'error', endpoint)
    assert.equal(reply.code, 'bad_request', endpoint)
  }
  const badKeys = await alice.request({ type: 'push_subscribe', subscription: { endpoint: 'https://push.example.com/x', keys: { ...keys, auth: 'AAAA' } } })
  assert.equal(badKeys.code, 'bad_request')
  for (const endpoint of ['https://push.example.com/x', 'http://push.internal:8080/x']) {
    assert.equal((await alice.request({ type: 'push_subscribe', subscription: { endpoint, keys } })).type, 'ack', endpoint)
  }
  const exported = (await http(server.url, 'GET', '/users/alice/export')).body
  assert.deepEqual(exported.pushSubscriptions.map((entry: { endpoint: string }) => entry.endpoint).sort(), ['http://push.internal:8080/x', 'https://push.example.com/x'])
  assert.equal((await alice.request({ type: 'push_unsubscribe', endpoint: 'https://push.example.com/x' })).type, 'ack')
  assert.equal((await http(server.url, 'GET', '/users/alice/export')).body.pushSubscriptions.length, 1)
})
