import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ClientOptions } from 'ws'
import { connect, type Frame, startServer, tryUpgrade } from '../helper.ts'
import { inSeconds, signHs256 } from './jwt.ts'

const ALLOWED = 'http://a.test:8080, https://chat.example.com'

/** Resolves with 101 when the upgrade succeeds (the client is closed again), else the HTTP status and body. */
async function attempt (url: string, options: ClientOptions): Promise<{ status: number, body?: Frame }> {
  const result = await tryUpgrade(url, options)
  if (result.status === 101) result.ws.close()
  return result
}

test('CHAT_ALLOWED_ORIGINS: only exact origins may upgrade; no Origin is allowed', async (t) => {
  const server = await startServer(t, { CHAT_ALLOWED_ORIGINS: ALLOWED })
  for (const origin of ['http://a.test:8080', 'https://chat.example.com']) {
    const { client, welcome } = await connect(`${server.wsUrl}?user=alice`, { headers: { origin } })
    t.after(() => client.ws.terminate())
    assert.equal(welcome.user, 'alice', origin)
  }
  // Not from a browser: no Origin header at all.
  const { client, welcome } = await connect(`${server.wsUrl}?user=bob`)
  t.after(() => client.ws.terminate())
  assert.equal(welcome.user, 'bob')
  assert.equal((await client.request({ type: 'ping' })).type, 'pong')
  const open = server.app.connectionRegistry.size

  const refused = [
    'http://a.test:8081', 'https://a.test:8080', 'http://b.test', 'http://a.test', 'http://b.test:8080',
    'http://chat.example.com', 'https://chat.example.com:8443', 'https://evil.chat.example.com',
    'http://a.test:8080.evil.test', 'http://evil.test', 'null', 'file://', 'http://a.test:8080/', 'a.test:8080'
  ]
  for (const origin of refused) {
    const { status, body } = await attempt(`${server.wsUrl}?user=mallory`, { headers: { origin } })
    assert.equal(status, 403, origin)
    assert.equal(body?.statusCode, 403)
    assert.equal(body?.error, 'Forbidden')
  }
  assert.equal(server.app.connectionRegistry.size, open, 'no refused origin opened a connection')
})

test('a disallowed origin is refused even with a valid token', async (t) => {
  const secret = 'origin-secret'
  const server = await startServer(t, { CHAT_ALLOWED_ORIGINS: ALLOWED, CHAT_JWT_SECRET: secret })
  const token = signHs256({ sub: 'carol', exp: inSeconds(600) }, secret)
  assert.equal((await attempt(`${server.wsUrl}?token=${token}`, { headers: { origin: 'http://b.test' } })).status, 403)
  assert.equal((await attempt(`${server.wsUrl}?token=${token}`, { headers: { origin: 'http://a.test:8080' } })).status, 101)
  // The origin is checked, and the token still is.
  assert.equal((await attempt(`${server.wsUrl}?token=${token}x`, { headers: { origin: 'http://a.test:8080' } })).status, 401)
})

test('without CHAT_ALLOWED_ORIGINS any origin may upgrade', async (t) => {
  const server = await startServer(t)
  assert.equal((await attempt(`${server.wsUrl}?user=dave`, { headers: { origin: 'http://b.test' } })).status, 101)
})
