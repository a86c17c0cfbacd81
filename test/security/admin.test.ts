import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connectAs, http, spawnServer, startServer } from '../helper.ts'

const ADMIN = 'admin-token-0123456789abcdef'
const auth = { authorization: `Bearer ${ADMIN}` }

/** Every call of the operator API, with a body where it takes one. */
const calls: [method: string, path: string, body?: unknown][] = [
  ['POST', '/rooms', { id: 'intruded' }],
  ['GET', '/rooms'],
  ['GET', '/rooms/lobby'],
  ['PATCH', '/rooms/lobby', { name: 'renamed' }],
  ['DELETE', '/rooms/lobby'],
  ['GET', '/rooms/lobby/online'],
  ['PUT', '/rooms/lobby/grants/mallory'],
  ['DELETE', '/rooms/lobby/grants/alice'],
  ['GET', '/rooms/lobby/messages'],
  ['POST', '/rooms/lobby/messages', { text: 'spoofed' }],
  ['GET', '/rooms/unknown-room'],
  ['DELETE', '/rooms/unknown-room']
]

test('with CHAT_ADMIN_TOKEN, every /rooms call needs the bearer token', async (t) => {
  const server = await startServer(t, { CHAT_ADMIN_TOKEN: ADMIN })
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'lobby', name: 'Lobby' }, auth)).status, 201)
  assert.equal((await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'hello' }, auth)).status, 201)
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'vault', private: true }, auth)).status, 201)
  const before = await http(server.url, 'GET', '/rooms', undefined, auth)
  const beforeMessages = await http(server.url, 'GET', '/rooms/lobby/messages', undefined, auth)

  const wrong: Record<string, string>[] = [
    {},
    { authorization: 'Bearer wrong-token' },
    { authorization: `Bearer ${ADMIN}x` },
    { authorization: `Bearer ${ADMIN.slice(0, -1)}` },
    { authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}` },
    { authorization: `Token ${ADMIN}` },
    { authorization: ADMIN },
    { authorization: 'Bearer' },
    { authorization: `Bearer ${ADMIN} extra` },
    { 'x-admin-token': ADMIN }
  ]
  for (const [method, path, body] of calls) {
    for (const headers of wrong) {
      const response = await http(server.url, method, path, body, headers)
      assert.equal(response.status, 401, `${method} ${path} with ${JSON.stringify(headers)}`)
      assert.equal(response.body.statusCode, 401)
      assert.equal(response.body.error, 'Unauthorized')
      assert.equal(typeof response.body.message, 'string')
    }
    // The token is not taken from the query string either.
    const query = await http(server.url, method, `${path}?token=${ADMIN}`, body)
    assert.equal(query.status, 401, `${method} ${path}?token=`)
  }

  // Nothing was changed by the refused calls.
  assert.deepEqual((await http(server.url, 'GET', '/rooms', undefined, auth)).body, before.body)
  assert.deepEqual((await http(server.url, 'GET', '/rooms/lobby/messages', undefined, auth)).body, beforeMessages.body)
  assert.equal((await http(server.url, 'GET', '/rooms/intruded', undefined, auth)).status, 404)
  assert.equal((await http(server.url, 'PUT', '/rooms/vault/grants/mallory', undefined, { authorization: 'Bearer guess' })).status, 401)
  const mallory = await connectAs(t, server, 'mallory')
  assert.equal((await mallory.request({ type: 'join', room: 'vault' })).code, 'forbidden')

  // With the token, the same calls go through.
  for (const [method, path, body] of calls) {
    const response = await http(server.url, method, path, body, auth)
    assert.notEqual(response.status, 401, `${method} ${path} with the token`)
    assert.ok(response.status < 500, `${method} ${path}: ${response.status}`)
  }
})

test('with CHAT_ADMIN_TOKEN, health, readiness and metrics stay open', async (t) => {
  const server = await startServer(t, { CHAT_ADMIN_TOKEN: ADMIN, CHAT_JWT_SECRET: 'jwt-secret' })
  assert.equal((await http(server.url, 'GET', '/healthz')).status, 200)
  assert.equal((await http(server.url, 'GET', '/readyz')).status, 200)
  const metrics = await http(server.url, 'GET', '/metrics')
  assert.equal(metrics.status, 200)
  assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/)
  assert.match(metrics.text, /chat_connections/)
  // The admin token is not a WebSocket credential.
  assert.equal((await http(server.url, 'GET', '/rooms', undefined, auth)).status, 200)
})

test('NODE_ENV=production refuses to start without both secrets', async (t) => {
  const cases: [env: Record<string, string>, missing: RegExp[]][] = [
    [{}, [/CHAT_JWT_SECRET/, /CHAT_ADMIN_TOKEN/]],
    [{ CHAT_JWT_SECRET: 'jwt-secret' }, [/CHAT_ADMIN_TOKEN/]],
    [{ CHAT_ADMIN_TOKEN: ADMIN }, [/CHAT_JWT_SECRET/]]
  ]
  await Promise.all(cases.map(async ([env, missing]) => {
    const server = await spawnServer(t, { NODE_ENV: 'production', CHAT_DB: ':memory:', ...env }, false)
    const { code } = await server.exited
    const output = server.output()
    assert.notEqual(code, 0, output)
    assert.notEqual(code, null, output)
    assert.match(output, /NODE_ENV=production requires/)
    for (const name of missing) assert.match(output, name)
    assert.doesNotMatch(output, /Server listening/)
    assert.doesNotMatch(output, /^\s+at /m, 'a clear message, not a stack trace')
    // The message names what is missing, never the value of what is set.
    for (const value of Object.values(env)) assert.ok(!output.includes(value), 'a secret in the output')
  }))
})

test('NODE_ENV=production starts with both secrets and protects both APIs', async (t) => {
  const server = await spawnServer(t, {
    NODE_ENV: 'production', CHAT_DB: ':memory:', CHAT_JWT_SECRET: 'jwt-secret', CHAT_ADMIN_TOKEN: ADMIN
  })
  assert.equal((await http(server.url, 'GET', '/rooms')).status, 401)
  assert.equal((await http(server.url, 'GET', '/rooms', undefined, auth)).status, 200)
  // Dev mode's ?user= is not accepted: /ws needs a JWT.
  assert.equal((await http(server.url, 'GET', '/ws?user=alice')).status, 401)
  assert.ok(!server.output().includes(ADMIN))
})
