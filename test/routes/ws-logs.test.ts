import assert from 'node:assert/strict'
import { test } from 'node:test'
import { captureLogs, connect, connectAs, eventually, http, type LogLine, startServer, tryUpgrade } from '../helper.ts'
import { inSeconds, signHs256 } from '../security/jwt.ts'

const INFO = 30
const WARN = 40

test('one info line when a connection opens and one when it closes, none per chat message', async (t) => {
  const logs = captureLogs()
  const server = await startServer(t, { LOG_LEVEL: 'info' }, logs.stream)
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await alice.join('ops')
  await bob.join('lobby')
  for (let i = 1; i <= 5; i++) {
    await alice.request({ type: 'message', room: 'lobby', text: `hello ${i}` })
    await bob.next((frame) => frame.type === 'message' && frame.text === `hello ${i}`)
  }
  alice.ws.close(4000, 'bye')
  await alice.closed

  let closed: LogLine | undefined
  await eventually(() => (closed = logs.lines().find((line) => line.msg === 'connection closed' && line.user === 'alice')) !== undefined,
    5000, 'the close line')
  const aliceLines = logs.lines().filter((line) => line.user === 'alice')
  const opened = aliceLines.find((line) => line.msg === 'connection opened')
  assert.ok(opened !== undefined, 'the open line')
  assert.equal(opened.level, INFO)
  assert.equal(opened.ip, '127.0.0.1')
  assert.ok(typeof opened.reqId === 'string' && typeof opened.connectionId === 'string')

  assert.equal(closed!.level, INFO)
  assert.equal(closed!.connectionId, opened.connectionId)
  assert.equal(closed!.ip, '127.0.0.1')
  assert.equal(closed!.code, 4000)
  assert.equal(closed!.reason, 'bye')
  assert.deepEqual([...closed!.rooms].sort(), ['lobby', 'ops'])
  // In: two joins and five messages. Out: welcome, two joined, bob's presence, and five messages and five acks.
  assert.equal(closed!.framesIn, 7)
  assert.equal(closed!.framesOut, 14)
  assert.ok(Number.isInteger(closed!.durationMs) && closed!.durationMs >= 0)

  // Nothing else about alice's connection at info, whatever she sent.
  assert.deepEqual(aliceLines.filter((line) => line.level >= INFO).map((line) => line.msg), ['connection opened', 'connection closed'])
  assert.ok(!logs.text().includes('hello 3'), 'message texts are not logged')
})

test('the close line of a connection the server cut lists the rooms it had', async (t) => {
  const logs = captureLogs()
  const server = await startServer(t, { LOG_LEVEL: 'info', CHAT_MSG_RATE: 1 }, logs.stream)
  const flooder = await connectAs(t, server, 'flooder')
  await flooder.join('lobby')
  // Past the flood limit (100 refused frames within ten seconds) the server closes with 1008.
  for (let i = 0; i < 150 && flooder.ws.readyState === flooder.ws.OPEN; i++) flooder.send({ type: 'ping' })
  assert.equal((await flooder.closed).code, 1008)
  await eventually(() => logs.lines().some((line) => line.msg === 'connection closed'), 5000, 'the close line')
  const lines = logs.lines().filter((line) => line.user === 'flooder')
  const closed = lines.find((line) => line.msg === 'connection closed')!
  assert.deepEqual(closed.rooms, ['lobby'])
  assert.equal(closed.code, 1008)

  // Going over the rate is one warning, however many frames are dropped, then one for the close.
  const warnings = lines.filter((line) => line.level === WARN)
  assert.deepEqual(warnings.map((line) => line.msg), ['frames over the per-connection rate are dropped', 'closing a connection that keeps flooding'])
  for (const warning of warnings) assert.equal(warning.ip, '127.0.0.1')
})

test('refused tokens, wrong admin tokens and 429s are warnings with the user and the IP', async (t) => {
  const secret = 'logs-test-secret-of-at-least-32-characters'
  const logs = captureLogs()
  const server = await startServer(t, {
    LOG_LEVEL: 'info', CHAT_JWT_SECRET: secret, CHAT_ADMIN_TOKEN: 'the-admin-token', CHAT_RATE_LIMIT: 4, CHAT_MAX_CONNECTIONS_PER_USER: 1
  }, logs.stream)
  const warnings = () => logs.lines().filter((line) => line.level === WARN)

  const expired = signHs256({ sub: 'carol', exp: inSeconds(-60) }, secret)
  assert.equal((await tryUpgrade(`${server.wsUrl}?token=${expired}`)).status, 401)
  const refusedUpgrade = warnings().find((line) => line.msg === 'upgrade refused: authentication failed')
  assert.ok(refusedUpgrade !== undefined)
  assert.deepEqual([refusedUpgrade.user, refusedUpgrade.ip, refusedUpgrade.reason], ['carol', '127.0.0.1', 'token expired'])

  const { client } = await connect(`${server.wsUrl}?token=${signHs256({ sub: 'dave', exp: inSeconds(600) }, secret)}`)
  t.after(() => client.ws.terminate())
  assert.equal((await client.request({ type: 'refresh', token: signHs256({ sub: 'erin' }, secret) })).code, 'unauthorized')
  const refusedRefresh = warnings().find((line) => line.msg === 'token refresh refused')
  assert.ok(refusedRefresh !== undefined)
  assert.deepEqual([refusedRefresh.user, refusedRefresh.ip, refusedRefresh.reason], ['dave', '127.0.0.1', 'token is for another user'])

  const second = await tryUpgrade(`${server.wsUrl}?token=${signHs256({ sub: 'dave' }, secret)}`)
  assert.equal(second.status, 429)
  const tooMany = warnings().find((line) => line.msg === 'upgrade refused: the user has too many connections')
  assert.deepEqual([tooMany?.user, tooMany?.ip], ['dave', '127.0.0.1'])

  assert.equal((await http(server.url, 'GET', '/rooms', undefined, { authorization: 'Bearer guess' })).status, 401)
  const refusedAdmin = warnings().find((line) => line.msg === 'admin API refused: wrong or missing admin token')
  assert.deepEqual([refusedAdmin?.ip, refusedAdmin?.tokenGiven], ['127.0.0.1', true])

  let status = 0
  for (let i = 0; i < 10 && status !== 429; i++) status = (await http(server.url, 'GET', '/rooms?token=secret')).status
  assert.equal(status, 429)
  const limited = warnings().filter((line) => line.msg === 'rate limit exceeded: answered 429')
  assert.equal(limited.length, 1)
  assert.deepEqual([limited[0]!.ip, limited[0]!.url], ['127.0.0.1', '/rooms?token=[redacted]'])
  assert.ok(!logs.text().includes('the-admin-token'))
})
