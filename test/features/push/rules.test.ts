import assert from 'node:assert/strict'
import { engineTest } from '../../engines.ts'
import { connectAs, http } from '../../helper.ts'
import { startReceiver, webhookConfig } from '../../webhooks/receiver.ts'
import { awayUser, pushConfig, pushService } from './push-helpers.ts'

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

engineTest('who is pushed: not the sender, not a user joined at that moment, levels none and mentions; grants count as read seqs do', async (start, t) => {
  const service = await pushService(t)
  const server = await start(pushConfig({ CHAT_PUSH_COALESCE_MS: 200 }))
  await http(server.url, 'POST', '/rooms', { id: 'staff', private: true })
  for (const user of ['grace', 'bob']) await http(server.url, 'PUT', `/rooms/staff/grants/${user}`)
  const subscriptions = Object.fromEntries(['alice', 'carol', 'dave', 'erin', 'grace'].map((user) => [user, service.subscription(user)]))
  await awayUser(await connectAs(t, server, 'alice'), 'lobby', subscriptions.alice)
  await awayUser(await connectAs(t, server, 'carol'), 'lobby', subscriptions.carol, 'none')
  await awayUser(await connectAs(t, server, 'dave'), 'lobby', subscriptions.dave, 'mentions')
  // erin reads the lobby and stays in it: joined, so not pushed.
  const erin = await connectAs(t, server, 'erin')
  await erin.join('lobby')
  assert.equal((await erin.request({ type: 'push_subscribe', subscription: subscriptions.erin })).type, 'ack')
  // grace has a grant to staff, no read seq, and is away.
  const grace = await connectAs(t, server, 'grace')
  assert.equal((await grace.request({ type: 'push_subscribe', subscription: subscriptions.grace })).type, 'ack')
  grace.close()
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  await bob.join('staff')

  await bob.request({ type: 'message', room: 'lobby', text: 'plain' })
  await service.waitFor((received) => received.length >= 1)
  await wait(400)
  assert.deepEqual(service.received.map((push) => push.name), ['alice'], 'only alice: carol chose none, dave mentions, erin is here, bob sent it')
  await wait(300)
  await bob.request({ type: 'message', room: 'lobby', text: 'ping @dave and @carol' })
  await service.waitFor((received) => received.length >= 3)
  await wait(300)
  assert.deepEqual(service.received.slice(1).map((push) => push.name).sort(), ['alice', 'dave'])
  await bob.request({ type: 'message', room: 'staff', text: 'staff only' })
  await service.waitFor((received) => received.some((push) => push.name === 'grace'))
  assert.deepEqual(service.received.find((push) => push.name === 'grace')!.json(), { type: 'message', room: 'staff', seq: 1, user: 'bob', text: 'staff only' })
  assert.equal(service.received.filter((push) => push.name === 'erin').length, 0)
  assert.deepEqual(service.rejected, [])

  // A notify frame for a room the user may not read is refused; for a missing room, not_found.
  const mallory = await connectAs(t, server, 'mallory')
  assert.equal((await mallory.request({ type: 'notify', room: 'staff', level: 'none' })).code, 'forbidden')
  assert.equal((await mallory.request({ type: 'notify', room: 'nowhere', level: 'none' })).code, 'not_found')
  const ack = await mallory.request({ type: 'notify', room: 'lobby', level: 'mentions' })
  assert.deepEqual([ack.type, ack.room], ['ack', 'lobby'])
  assert.equal((await mallory.request({ type: 'notify', room: 'lobby', level: 'loud' })).code, 'bad_request')
})

engineTest('notification.due goes to webhooks for every user the rule selects, with or without a subscription, coalesced alike', async (start, t) => {
  const receiver = await startReceiver(t)
  const server = await start(webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'notification.due', CHAT_PUSH_COALESCE_MS: 300 }))
  await awayUser(await connectAs(t, server, 'alice'), 'lobby')
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  const first = await bob.request({ type: 'message', room: 'lobby', text: 'one' })
  await bob.request({ type: 'message', room: 'lobby', text: 'two' })
  const third = await bob.request({ type: 'message', room: 'lobby', text: 'three' })
  const events = await receiver.waitFor(2, 'notification.due')
  assert.deepEqual(events.map((event) => [event.room, event.data.user, event.data.seq]), [['lobby', 'alice', first.seq], ['lobby', 'alice', third.seq]])
  await wait(700)
  assert.equal(receiver.delivered.filter((event) => event.type === 'notification.due').length, 2)
  receiver.assertAllValid()
})

engineTest('a push service answering 410 removes the subscription; 500 and 429 are retried (Retry-After honoured) until delivered', async (start, t) => {
  const service = await pushService(t)
  const server = await start(pushConfig({ CHAT_PUSH_COALESCE_MS: 100 }))
  const gone = service.subscription('gone')
  const flaky = service.subscription('flaky')
  await awayUser(await connectAs(t, server, 'alice'), 'lobby', gone)
  const carol = await connectAs(t, server, 'carol')
  await awayUser(carol, 'lobby', flaky)
  service.answer(gone.endpoint, 410)
  service.answer(flaky.endpoint, 500, { status: 429, headers: { 'retry-after': '2' } })
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  const sent = await bob.request({ type: 'message', room: 'lobby', text: 'are you there?' })
  await service.waitFor((received) => received.some((push) => push.name === 'flaky'), 10_000)
  const attempts = service.attempts.filter((attempt) => attempt.endpoint === flaky.endpoint)
  assert.deepEqual(attempts.map((attempt) => attempt.status), [500, 429, 201])
  assert.ok(attempts[1]!.at - attempts[0]!.at <= 5000, 'the first retry within 5 s')
  assert.ok(attempts[2]!.at - attempts[1]!.at >= 1900, 'Retry-After: 2 waited for')
  assert.deepEqual(service.received.find((push) => push.name === 'flaky')!.json(), { type: 'message', room: 'lobby', seq: sent.seq, user: 'bob', text: 'are you there?' })
  await service.waitFor(() => service.attempts.some((attempt) => attempt.endpoint === gone.endpoint))
  await eventuallyGone(server.url)
  const metrics = await (await fetch(`${server.url}/metrics`)).text()
  assert.match(metrics, /chat_pushes_total\{outcome="gone"\} 1/)
  assert.match(metrics, /chat_pushes_total\{outcome="retried"\} 2/)
  assert.match(metrics, /chat_pushes_total\{outcome="delivered"\} 1/)
  assert.match(metrics, /chat_push_pending 0/)
  assert.match(metrics, /chat_notifications_due_total 2/)
})

async function eventuallyGone (url: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if ((await http(url, 'GET', '/users/alice/export')).body.pushSubscriptions.length === 0) return
    await wait(100)
  }
  assert.fail('the subscription answered 410 is still there')
}
