import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import { WebSocket, type ClientOptions } from 'ws'
import { connect, eventually, type Frame, type TestClient, type TestServer, startServer, tryUpgrade } from '../helper.ts'
import { ecKeyPair, inSeconds, rsaKeyPair, signEs256, signHs256, signRs256, unsigned } from './jwt.ts'

const SECRET = 'test-secret-0123456789abcdef'

/** Opens an authenticated client, closed when the test ends. */
async function open (t: TestContext, url: string, options: ClientOptions = {}): Promise<{ client: TestClient, welcome: Frame }> {
  const opened = await connect(url, options)
  t.after(() => opened.client.ws.terminate())
  return opened
}

/** An upgrade the server must refuse: resolves with the HTTP status and JSON body it answered. */
async function refusal (url: string, options: ClientOptions = {}): Promise<{ status: number, body: Frame }> {
  const result = await tryUpgrade(url, options)
  if (result.status === 101) {
    result.ws.terminate()
    throw new Error('the upgrade was accepted')
  }
  return { status: result.status, body: result.body ?? {} }
}

async function assertRefused (server: TestServer, url: string, options: ClientOptions = {}, status = 401): Promise<Frame> {
  const { status: actual, body } = await refusal(url, options)
  assert.equal(actual, status, `${url}: ${JSON.stringify(body)}`)
  assert.equal(body.statusCode, status)
  assert.equal(typeof body.message, 'string')
  assert.equal(server.app.connectionRegistry.size, 0, 'no connection was opened')
  return body
}

describe('HS256 tokens (CHAT_JWT_SECRET)', () => {
  test('a valid token in ?token= names the user by its sub; name is optional', async (t) => {
    const server = await startServer(t, { CHAT_JWT_SECRET: SECRET })
    const named = await open(t, `${server.wsUrl}?token=${signHs256({ sub: 'alice', name: 'Alice A.', exp: inSeconds(600) }, SECRET)}`)
    assert.equal(named.welcome.user, 'alice')
    const plain = await open(t, `${server.wsUrl}?token=${signHs256({ sub: 'bob.b_2-x' }, SECRET)}`)
    assert.equal(plain.welcome.user, 'bob.b_2-x')
    assert.equal((await plain.client.request({ type: 'ping' })).type, 'pong')
  })

  test('a valid token in Authorization: Bearer is accepted too', async (t) => {
    const server = await startServer(t, { CHAT_JWT_SECRET: SECRET })
    const token = signHs256({ sub: 'carol', exp: inSeconds(600) }, SECRET)
    const { welcome } = await open(t, server.wsUrl, { headers: { authorization: `Bearer ${token}` } })
    assert.equal(welcome.user, 'carol')
  })

  test('missing, malformed, badly signed, expired or unsigned tokens get 401 before the upgrade', async (t) => {
    const server = await startServer(t, { CHAT_JWT_SECRET: SECRET })
    const claims = { sub: 'mallory', exp: inSeconds(600) }
    const missing = await assertRefused(server, server.wsUrl)
    assert.match(missing.message, /JWT is required/)
    await assertRefused(server, `${server.wsUrl}?user=mallory`)
    await assertRefused(server, `${server.wsUrl}?token=`)
    await assertRefused(server, `${server.wsUrl}?token=not-a-jwt`)
    await assertRefused(server, `${server.wsUrl}?token=a.b.c`)
    await assertRefused(server, server.wsUrl, { headers: { authorization: 'Bearer ' } })
    await assertRefused(server, server.wsUrl, { headers: { authorization: `Basic ${signHs256(claims, SECRET)}` } })
    const forged = await assertRefused(server, `${server.wsUrl}?token=${signHs256(claims, 'another-secret')}`)
    assert.match(forged.message, /signature/)
    const expired = await assertRefused(server, `${server.wsUrl}?token=${signHs256({ sub: 'mallory', exp: inSeconds(-60) }, SECRET)}`)
    assert.match(expired.message, /expired/)
    await assertRefused(server, server.wsUrl, { headers: { authorization: `Bearer ${signHs256({ sub: 'mallory', exp: inSeconds(-1) }, SECRET)}` } })
    await assertRefused(server, `${server.wsUrl}?token=${unsigned(claims)}`)
    // A valid signature over a token whose payload was then swapped.
    const [header, , signature] = signHs256(claims, SECRET).split('.')
    const swapped = signHs256({ sub: 'admin', exp: inSeconds(600) }, SECRET).split('.')[1]
    await assertRefused(server, `${server.wsUrl}?token=${header}.${swapped}.${signature}`)
  })

  test('a token whose sub is missing or is not a user id gets 401', async (t) => {
    const server = await startServer(t, { CHAT_JWT_SECRET: SECRET })
    const subs: unknown[] = [undefined, '', 'has space', 'a/b', 'é', 'x'.repeat(65), 42, null, ['alice'], { id: 'alice' }]
    for (const sub of subs) {
      const token = signHs256(sub === undefined ? { name: 'nobody' } : { sub }, SECRET)
      const body = await assertRefused(server, `${server.wsUrl}?token=${token}`)
      if (typeof sub === 'string' && sub !== '') assert.match(body.message, /sub/)
    }
  })
})

describe('asymmetric tokens (CHAT_JWT_PUBLIC_KEY)', () => {
  test('RS256 tokens from the matching private key are accepted, others refused', async (t) => {
    const rsa = rsaKeyPair()
    const other = rsaKeyPair()
    const server = await startServer(t, { CHAT_JWT_PUBLIC_KEY: rsa.publicPem })
    const { welcome } = await open(t, `${server.wsUrl}?token=${signRs256({ sub: 'dave', exp: inSeconds(600) }, rsa.privateKey)}`)
    assert.equal(welcome.user, 'dave')
    await t.test('refused', async () => {
      const before = server.app.connectionRegistry.size
      for (const token of [
        signRs256({ sub: 'dave', exp: inSeconds(600) }, other.privateKey),
        signRs256({ sub: 'dave', exp: inSeconds(-10) }, rsa.privateKey),
        signRs256({ exp: inSeconds(600) }, rsa.privateKey),
        // Algorithm confusion: an HS256 token keyed with the public key itself.
        signHs256({ sub: 'dave', exp: inSeconds(600) }, rsa.publicPem),
        signHs256({ sub: 'dave', exp: inSeconds(600) }, SECRET)
      ]) {
        const { status } = await refusal(`${server.wsUrl}?token=${token}`)
        assert.equal(status, 401)
      }
      assert.equal(server.app.connectionRegistry.size, before)
    })
  })

  test('ES256 tokens from the matching private key are accepted, others refused', async (t) => {
    const ec = ecKeyPair()
    const server = await startServer(t, { CHAT_JWT_PUBLIC_KEY: ec.publicPem })
    const { welcome } = await open(t, server.wsUrl, {
      headers: { authorization: `Bearer ${signEs256({ sub: 'erin', name: 'Erin', exp: inSeconds(600) }, ec.privateKey)}` }
    })
    assert.equal(welcome.user, 'erin')
    for (const token of [
      signEs256({ sub: 'erin', exp: inSeconds(600) }, ecKeyPair().privateKey),
      signEs256({ sub: 'erin', exp: inSeconds(-10) }, ec.privateKey),
      signEs256({ sub: 'not valid', exp: inSeconds(600) }, ec.privateKey)
    ]) {
      const { status } = await refusal(`${server.wsUrl}?token=${token}`)
      assert.equal(status, 401)
    }
    assert.equal(server.app.connectionRegistry.size, 1)
  })

  test('during a key rotation both CHAT_JWT_SECRET and CHAT_JWT_PUBLIC_KEY are accepted', async (t) => {
    const ec = ecKeyPair()
    const server = await startServer(t, { CHAT_JWT_SECRET: SECRET, CHAT_JWT_PUBLIC_KEY: ec.publicPem })
    const old = await open(t, `${server.wsUrl}?token=${signHs256({ sub: 'frank', exp: inSeconds(600) }, SECRET)}`)
    const fresh = await open(t, `${server.wsUrl}?token=${signEs256({ sub: 'grace', exp: inSeconds(600) }, ec.privateKey)}`)
    assert.equal(old.welcome.user, 'frank')
    assert.equal(fresh.welcome.user, 'grace')
    const { status } = await refusal(`${server.wsUrl}?token=${signHs256({ sub: 'frank' }, 'retired-secret')}`)
    assert.equal(status, 401)
  })
})

// The three cases wait for a real expiry (2 to 3 s away), so they run side by side.
describe('token expiry on an open connection', { concurrency: true }, () => {
  test('the connection is closed with 1008 when its token expires', async (t) => {
    const server = await startServer(t, { CHAT_JWT_SECRET: SECRET })
    const { client } = await open(t, `${server.wsUrl}?token=${signHs256({ sub: 'henry', exp: inSeconds(3) }, SECRET)}`)
    await client.join('lobby')
    const closed = await client.closed
    assert.equal(closed.code, 1008)
    assert.match(closed.reason, /expired/)
    await eventually(() => server.app.connectionRegistry.size === 0, 5000, 'the expired connection leaving the registry')
  })

  test('a refresh with a fresh token for the same user keeps it open', async (t) => {
    const server = await startServer(t, { CHAT_JWT_SECRET: SECRET })
    const { client } = await open(t, `${server.wsUrl}?token=${signHs256({ sub: 'iris', exp: inSeconds(3) }, SECRET)}`)
    const exp = inSeconds(3600)
    const refreshed = await client.request({ type: 'refresh', token: signHs256({ sub: 'iris', exp }, SECRET) })
    assert.equal(refreshed.type, 'refreshed')
    assert.equal(refreshed.expiresAt, new Date(exp * 1000).toISOString())
    // Past the first token's expiry, the connection still works.
    await client.nothing((frame) => frame.type !== 'pong', 3500)
    assert.equal(client.ws.readyState, WebSocket.OPEN)
    assert.equal((await client.request({ type: 'ping' })).type, 'pong')
  })

  test("a refresh with another user's or an invalid token is unauthorized and changes nothing", async (t) => {
    const server = await startServer(t, { CHAT_JWT_SECRET: SECRET })
    const { client } = await open(t, `${server.wsUrl}?token=${signHs256({ sub: 'jack', exp: inSeconds(3) }, SECRET)}`)
    const foreign = await client.request({ type: 'refresh', token: signHs256({ sub: 'kate', exp: inSeconds(3600) }, SECRET) })
    assert.equal(foreign.type, 'error')
    assert.equal(foreign.code, 'unauthorized')
    assert.match(foreign.message, /another user/)
    const forged = await client.request({ type: 'refresh', token: signHs256({ sub: 'jack', exp: inSeconds(3600) }, 'guess') })
    assert.equal(forged.code, 'unauthorized')
    const stale = await client.request({ type: 'refresh', token: signHs256({ sub: 'jack', exp: inSeconds(-5) }, SECRET) })
    assert.equal(stale.code, 'unauthorized')
    const closed = await client.closed
    assert.equal(closed.code, 1008)
  })
})

test('in dev mode a refresh frame is a bad_request', async (t) => {
  const server = await startServer(t)
  const { client } = await open(t, `${server.wsUrl}?user=liam`)
  const reply = await client.request({ type: 'refresh', token: signHs256({ sub: 'liam' }, SECRET) })
  assert.equal(reply.type, 'error')
  assert.equal(reply.code, 'bad_request')
})
