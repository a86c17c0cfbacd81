import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connect, connectAs, eventually, http, startServer, tryUpgrade, type TestServer } from '../helper.ts'
import { promtool, requirePromtool } from '../promtool-helper.ts'
import { layoutTest } from '../redis-layouts.ts'
import { inSeconds, signHs256 } from '../security/jwt.ts'
import { startReceiver, webhookConfig } from '../webhooks/receiver.ts'

/** One scrape, read by family and labels. */
class Scrape {
  constructor (readonly text: string) {}

  /** The sample's value; undefined when the series is absent. */
  value (name: string, labels: Record<string, string> = {}): number | undefined {
    for (const line of this.text.split('\n')) {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
      if (match === null || match[1] !== name) continue
      const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
      if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3])
    }
    return undefined
  }

  /** The sample's value; fails when the series is absent. */
  get (name: string, labels: Record<string, string> = {}): number {
    const value = this.value(name, labels)
    assert.ok(value !== undefined, `${name}${JSON.stringify(labels)} is not in the scrape`)
    return value
  }
}

async function scrape (server: TestServer): Promise<Scrape> {
  const reply = await http(server.url, 'GET', '/metrics')
  assert.equal(reply.status, 200)
  assert.match(reply.headers.get('content-type') ?? '', /^text\/plain/)
  return new Scrape(reply.text)
}

const CONTRACT_FAMILIES = [
  'chat_connections', 'chat_connections_opened_total', 'chat_frames_received_total', 'chat_messages_stored_total',
  'chat_deliveries_total', 'chat_errors_sent_total', 'chat_slow_consumers_total', 'chat_heartbeat_timeouts_total',
  'chat_auth_failures_total'
]

test('every family moves with real traffic, and promtool finds nothing to report', async (t) => {
  const server = await startServer(t, { CHAT_MSG_RATE: 5 })
  const before = await scrape(server)
  for (const family of CONTRACT_FAMILIES) {
    assert.match(before.text, new RegExp(`^# TYPE ${family} (counter|gauge)$`, 'm'), family)
  }
  assert.equal(before.get('chat_connections'), 0)
  assert.equal(before.get('chat_frames_received_total', { type: 'join' }), 0)
  assert.equal(before.get('chat_errors_sent_total', { code: 'rate_limited' }), 0)
  assert.ok(before.get('process_cpu_seconds_total') > 0, 'process metrics')
  assert.equal(before.value('nodejs_active_handles_total'), undefined, 'gauges named like counters are left out')

  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  let now = await scrape(server)
  assert.equal(now.get('chat_connections'), 2)
  assert.equal(now.get('chat_connections_opened_total'), 2)
  assert.equal(now.get('chat_memberships'), 0)

  await alice.join('lobby')
  await bob.join('lobby')
  await alice.next('presence')
  await alice.request({ type: 'message', room: 'lobby', text: 'hello' })
  await bob.next('message')
  now = await scrape(server)
  assert.equal(now.get('chat_frames_received_total', { type: 'join' }), 2)
  assert.equal(now.get('chat_frames_received_total', { type: 'message' }), 1)
  assert.equal(now.get('chat_memberships'), 2)
  assert.equal(now.get('chat_rooms_with_members'), 1)
  assert.equal(now.get('chat_messages_stored_total'), 1)
  // Three broadcasts: alice's presence (to nobody yet), bob's to alice, the message to both.
  assert.equal(now.get('chat_deliveries_total'), 3)
  assert.equal(now.get('chat_fanout_duration_seconds_count'), 3)
  assert.equal(now.get('chat_fanout_duration_seconds_bucket', { le: '+Inf' }), 3)
  assert.ok(now.get('chat_fanout_duration_seconds_sum') > 0)

  assert.equal((await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'from REST' })).status, 201)
  await eventually(async () => (await scrape(server)).get('chat_deliveries_total') === 5, 5000, 'REST message delivered')
  assert.equal((await scrape(server)).get('chat_messages_stored_total'), 2)

  alice.send('{not json')
  await alice.next('error')
  assert.equal((await alice.request({ type: 'leave', room: 'elsewhere' })).code, 'not_member')
  now = await scrape(server)
  assert.equal(now.get('chat_frames_received_total', { type: 'invalid' }), 1)
  assert.equal(now.get('chat_frames_received_total', { type: 'leave' }), 1)
  assert.equal(now.get('chat_errors_sent_total', { code: 'bad_request' }), 1)
  assert.equal(now.get('chat_errors_sent_total', { code: 'not_member' }), 1)

  // A burst past the bucket (5 a second, 10 at once) is answered rate_limited.
  const flooder = await connectAs(t, server, 'flooder')
  for (let i = 0; i < 15; i++) flooder.send({ type: 'ping', ref: `p${i}` })
  await flooder.next((frame) => frame.type === 'error' && frame.code === 'rate_limited')
  await flooder.next((frame) => frame.ref === 'p14')
  now = await scrape(server)
  assert.equal(now.get('chat_frames_received_total', { type: 'ping' }), 15)
  assert.ok(now.get('chat_errors_sent_total', { code: 'rate_limited' }) >= 5)

  bob.close()
  await bob.closed
  await eventually(async () => (await scrape(server)).get('chat_connections') === 2, 5000, 'bob gone')
  now = await scrape(server)
  assert.equal(now.get('chat_memberships'), 1)
  assert.equal(now.get('chat_connections_opened_total'), 3)
  assert.equal(now.get('chat_storage_errors_total'), 0)
  assert.equal(now.get('chat_ready'), 1)

  if (!requirePromtool(t)) return
  const checked = promtool(['check', 'metrics'], now.text)
  assert.equal(checked.output.trim(), '', 'promtool reports nothing')
  assert.equal(checked.status, 0)
})

test('refused tokens, wrong admin tokens and 429s are counted', async (t) => {
  const secret = 'metrics-test-secret-of-at-least-32-chars'
  const admin = 'metrics-admin-token'
  const server = await startServer(t, { CHAT_JWT_SECRET: secret, CHAT_ADMIN_TOKEN: admin, CHAT_RATE_LIMIT: 6 })

  const forged = await tryUpgrade(`${server.wsUrl}?token=${signHs256({ sub: 'mallory' }, 'not-the-secret')}`)
  assert.equal(forged.status, 401)
  const { client } = await connect(`${server.wsUrl}?token=${signHs256({ sub: 'alice', exp: inSeconds(600) }, secret)}`)
  t.after(() => client.ws.terminate())
  assert.equal((await client.request({ type: 'refresh', token: signHs256({ sub: 'alice' }, 'nope') })).code, 'unauthorized')
  assert.equal((await http(server.url, 'GET', '/rooms', undefined, { authorization: 'Bearer wrong' })).status, 401)
  assert.equal((await scrape(server)).get('chat_auth_failures_total'), 3)

  // The limit is 6 a minute: calls past it are answered 429.
  const statuses = []
  for (let i = 0; i < 10; i++) statuses.push((await http(server.url, 'GET', '/rooms', undefined, { authorization: `Bearer ${admin}` })).status)
  const refused = statuses.filter((status) => status === 429).length
  assert.ok(refused >= 4, statuses.join(' '))
  const now = await scrape(server)
  assert.equal(now.get('chat_requests_rate_limited_total'), refused)
  assert.equal(now.get('chat_errors_sent_total', { code: 'unauthorized' }), 1)
})

layoutTest('with Redis gone: storage and Redis errors are counted and chat_ready drops to 0', async (t, redis) => {
  const server = await startServer(t, redis.config)
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  let now = await scrape(server)
  assert.equal(now.get('chat_ready'), 1)
  assert.equal(now.get('chat_redis_errors_total'), 0)
  assert.equal(now.get('chat_redis_rooms_followed'), 1, 'the room alice is in')
  assert.equal(now.get('chat_redis_gap_repairs_total'), 0)
  assert.equal(now.get('chat_redis_repaired_messages_total'), 0)
  if (requirePromtool(t)) {
    const checked = promtool(['check', 'metrics'], now.text)
    assert.equal(checked.status, 0, checked.output)
  }

  await Promise.all(redis.primaries().map((node) => node.shutdown('NOSAVE').catch(() => {})))
  const reply = await alice.request({ type: 'message', room: 'lobby', text: 'lost?' }, 15_000)
  assert.equal(reply.code, 'internal')
  assert.equal((await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'lost too' })).status, 500)
  now = await scrape(server)
  assert.ok(now.get('chat_storage_errors_total') >= 2, now.text)
  // The connections' errors are reported as their reconnection attempts fail.
  await eventually(async () => (await scrape(server)).get('chat_redis_errors_total') >= 1, 5000, 'a Redis error counted')
  assert.equal(now.get('chat_ready'), 0)
  assert.equal(now.get('chat_errors_sent_total', { code: 'internal' }), 1)
}, { own: true })

test('webhook deliveries are counted by outcome, with pending events and delivery latency; promtool finds nothing to report', async (t) => {
  const receiver = await startReceiver(t)
  let answer: number = 500
  receiver.answer = () => answer
  const server = await startServer(t, webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'message.created', CHAT_WEBHOOK_MAX_ATTEMPTS: 2 }))
  const before = await scrape(server)
  for (const outcome of ['delivered', 'failed', 'parked']) assert.equal(before.get('chat_webhook_deliveries_total', { outcome }), 0, outcome)
  assert.equal(before.get('chat_webhook_pending'), 0)
  assert.equal(before.get('chat_webhook_delivery_seconds_count'), 0)

  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  await alice.request({ type: 'message', room: 'lobby', text: 'parked' })
  // Two attempts answered 500: the first failed (retried), the second parked.
  await eventually(async () => (await scrape(server)).get('chat_webhook_deliveries_total', { outcome: 'parked' }) === 1, 10_000, 'parked')
  answer = 204
  await alice.request({ type: 'message', room: 'lobby', text: 'delivered' })
  await receiver.waitFor(1)
  let now!: Scrape
  await eventually(async () => {
    now = await scrape(server)
    return now.get('chat_webhook_deliveries_total', { outcome: 'delivered' }) === 1 && now.get('chat_webhook_pending') === 0
  }, 5000, 'delivered and trimmed')
  assert.equal(now.get('chat_webhook_deliveries_total', { outcome: 'failed' }), 1)
  assert.equal(now.get('chat_webhook_delivery_seconds_count'), 1)
  assert.ok(now.get('chat_webhook_delivery_seconds_sum') >= 0)
  assert.equal(now.get('chat_webhook_delivery_seconds_bucket', { le: '+Inf' }), 1)

  // A receiver that is down: events wait, and the gauge shows them.
  await receiver.stop()
  for (let i = 0; i < 3; i++) await alice.request({ type: 'message', room: 'lobby', text: `waiting ${i}` })
  assert.equal((await scrape(server)).get('chat_webhook_pending'), 3)

  if (!requirePromtool(t)) return
  const checked = promtool(['check', 'metrics'], (await scrape(server)).text)
  assert.equal(checked.output.trim(), '', 'promtool reports nothing')
  assert.equal(checked.status, 0)
})
