import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { engineTest, nodesTest, type StartNode } from '../../engines.ts'
import { connectAs, http, startServer, tempDir } from '../../helper.ts'
import { awayUser, pushConfig, pushService } from './push-helpers.ts'

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const endpoints = async (url: string, user: string) =>
  (await http(url, 'GET', `/users/${user}/export`)).body.pushSubscriptions.map((entry: { endpoint: string }) => entry.endpoint) as string[]

engineTest('an endpoint belongs to the last user who registered it; another user cannot remove it', async (start, t) => {
  const service = await pushService(t)
  const server = await start(pushConfig({ CHAT_PUSH_COALESCE_MS: 100 }))
  const browser = service.subscription('shared browser')
  await awayUser(await connectAs(t, server, 'alice'), 'lobby', browser)
  // The same browser, now signed in as carol: alice's pushes must no longer reach it.
  const carol = await connectAs(t, server, 'carol')
  assert.equal((await carol.request({ type: 'push_subscribe', subscription: browser })).type, 'ack')
  assert.deepEqual(await endpoints(server.url, 'alice'), [])
  assert.deepEqual(await endpoints(server.url, 'carol'), [browser.endpoint])
  const mallory = await connectAs(t, server, 'mallory')
  assert.equal((await mallory.request({ type: 'push_unsubscribe', endpoint: browser.endpoint })).type, 'ack')
  assert.deepEqual(await endpoints(server.url, 'carol'), [browser.endpoint], 'only its owner removes a subscription')
  carol.close()

  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  await bob.request({ type: 'message', room: 'lobby', text: 'for alice' })
  await wait(500)
  assert.deepEqual(service.received, [], 'alice is subscribed no more: nothing goes to the browser carol now uses')
})

/** A second message in a user's window waits in storage; the node that stored it is replaced, and the next sends it when the window ends. */
async function waitingSurvives (start: StartNode, t: Parameters<typeof connectAs>[0]): Promise<void> {
  const service = await pushService(t)
  const config = pushConfig({ CHAT_PUSH_COALESCE_MS: 2500 })
  const first = await start(config)
  const subscription = service.subscription('alice')
  await awayUser(await connectAs(t, first, 'alice'), 'lobby', subscription)
  const bob = await connectAs(t, first, 'bob')
  await bob.join('lobby')
  await bob.request({ type: 'message', room: 'lobby', text: 'first' })
  const waiting = await bob.request({ type: 'message', room: 'lobby', text: 'waits for the window' })
  await service.waitFor((received) => received.length === 1)
  bob.close()
  await first.app.close()
  const second = await start(config)
  await service.waitFor((received) => received.length === 2, 10_000)
  assert.deepEqual(service.received[1]!.json(), { type: 'message', room: 'lobby', seq: waiting.seq, user: 'bob', text: 'waits for the window' })
  assert.ok(service.received[1]!.at - service.received[0]!.at >= 2000, 'at the window\'s end, not before')
  assert.equal((await http(second.url, 'GET', '/healthz')).status, 200)
}

nodesTest('a notification waiting for its window\'s end survives its node stopping: another sends it', async (start, t) => {
  await waitingSurvives(start, t)
})

test('file database: a notification waiting for its window\'s end is sent after a restart', { timeout: 60_000 }, async (t) => {
  const db = join(tempDir(t), 'chat.sqlite')
  await waitingSurvives((overrides = {}) => startServer(t, { ...overrides, CHAT_DB: db }), t)
})
