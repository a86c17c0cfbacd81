import assert from 'node:assert/strict'
import { test } from 'node:test'
import { captureLogs, connect, http, startServer, tryUpgrade } from '../helper.ts'
import { inSeconds, signHs256 } from './jwt.ts'

const JWT_SECRET = 'jwt-secret-that-must-stay-private-4f1c'
const ADMIN_TOKEN = 'admin-token-that-must-stay-private-9a2e'

/** Tries an upgrade and resolves once the server answered, whatever it answered (0: no answer). */
async function upgradeStatus (url: string, headers: Record<string, string> = {}): Promise<number> {
  try {
    const result = await tryUpgrade(url, { headers })
    if (result.status === 101) result.ws.close()
    return result.status
  } catch {
    return 0
  }
}

test('no JWT, admin token or JWT secret ever reaches the log, at trace level', async (t) => {
  const logs = captureLogs()
  const server = await startServer(t, { LOG_LEVEL: 'trace', CHAT_JWT_SECRET: JWT_SECRET, CHAT_ADMIN_TOKEN: ADMIN_TOKEN }, logs.stream)
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

  const inQuery = signHs256({ sub: 'alice', name: 'Alice', exp: inSeconds(600) }, JWT_SECRET)
  const inHeader = signHs256({ sub: 'bob', exp: inSeconds(600) }, JWT_SECRET)
  const refreshToken = signHs256({ sub: 'alice', exp: inSeconds(1200) }, JWT_SECRET)
  const foreignRefresh = signHs256({ sub: 'bob', exp: inSeconds(1200) }, JWT_SECRET)
  const forgedRefresh = signHs256({ sub: 'alice', exp: inSeconds(1200) }, 'not-the-secret')
  const forged = signHs256({ sub: 'mallory', exp: inSeconds(600) }, 'not-the-secret')
  const expired = signHs256({ sub: 'mallory', exp: inSeconds(-60) }, JWT_SECRET)
  const badSub = signHs256({ sub: 'not an id', exp: inSeconds(600) }, JWT_SECRET)
  const tokens = [inQuery, inHeader, refreshToken, foreignRefresh, forgedRefresh, forged, expired, badSub]

  // Connections with a token in the query and in the header; a refresh, a foreign and a forged one.
  const alice = await connect(`${server.wsUrl}?token=${inQuery}`)
  t.after(() => alice.client.ws.terminate())
  const bob = await connect(server.wsUrl, { headers: { authorization: `Bearer ${inHeader}` } })
  t.after(() => bob.client.ws.terminate())
  await alice.client.join('lobby')
  assert.equal((await alice.client.request({ type: 'refresh', token: refreshToken })).type, 'refreshed')
  assert.equal((await alice.client.request({ type: 'refresh', token: foreignRefresh })).code, 'unauthorized')
  assert.equal((await alice.client.request({ type: 'refresh', token: forgedRefresh })).code, 'unauthorized')
  assert.equal((await alice.client.request({ type: 'refresh', token: 'x'.repeat(20) })).code, 'unauthorized')

  // Failing authentication, both ways.
  assert.equal(await upgradeStatus(`${server.wsUrl}?token=${forged}`), 401)
  assert.equal(await upgradeStatus(`${server.wsUrl}?token=${expired}&other=1`), 401)
  assert.equal(await upgradeStatus(`${server.wsUrl}?access_token=${forged}&token=${badSub}`), 401)
  assert.equal(await upgradeStatus(server.wsUrl, { authorization: `Bearer ${forged}` }), 401)
  assert.equal(await upgradeStatus(server.wsUrl, { authorization: `Bearer ${expired}` }), 401)

  // Admin calls: right, wrong, and secrets in places they do not belong.
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'ops' }, admin)).status, 201)
  assert.equal((await http(server.url, 'GET', '/rooms', undefined, admin)).status, 200)
  assert.equal((await http(server.url, 'POST', '/rooms/ops/messages', { text: 'maintenance' }, admin)).status, 201)
  assert.equal((await http(server.url, 'GET', '/rooms', undefined, { authorization: `Bearer ${ADMIN_TOKEN}-nope` })).status, 401)
  assert.equal((await http(server.url, 'GET', `/rooms?token=${ADMIN_TOKEN}`)).status, 401)
  assert.equal((await http(server.url, 'GET', `/nowhere?token=${inQuery}`)).status, 404)
  assert.equal((await http(server.url, 'GET', `/rooms?limit=oops&jwt=${inHeader}`, undefined, admin)).status, 400)
  assert.equal((await http(server.url, 'GET', '/ws', undefined, { authorization: `Bearer ${inHeader}` })).status, 426)

  alice.client.close()
  await alice.client.closed
  bob.client.close()
  await bob.client.closed
  await server.app.close()

  const log = logs.text()
  // The capture works: requests, connections and refusals are all there, with secrets redacted.
  const lines = logs.lines()
  assert.ok(lines.length > 20, `${lines.length} log lines`)
  assert.match(log, /token=\[redacted\]/)
  assert.match(log, /"connectionId"/)
  assert.match(log, /"statusCode":401/)

  const secrets = [JWT_SECRET, ADMIN_TOKEN, ...tokens, ...tokens.map((token) => token.split('.')[2]!)]
  for (const secret of secrets) {
    assert.ok(!log.includes(secret), `a secret appears in the log: ${secret.slice(0, 12)}…`)
  }
})
