import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildPagesOnce } from '../browser-helper.ts'
import { http, startServer } from '../helper.ts'

test('GET /client-config tells a page how to sign in', async (t) => {
  const dev = await startServer(t, { CHAT_MAX_TEXT: 500 })
  const answer = await http(dev.url, 'GET', '/client-config')
  assert.equal(answer.status, 200)
  assert.deepEqual(answer.body, { auth: 'dev', maxText: 500 })

  const jwt = await startServer(t, { CHAT_JWT_SECRET: 'a-secret-of-at-least-thirty-two-characters', CHAT_ADMIN_TOKEN: 'admin' })
  const jwtAnswer = await http(jwt.url, 'GET', '/client-config')
  assert.equal(jwtAnswer.status, 200, 'public: no admin token needed')
  assert.deepEqual(jwtAnswer.body, { auth: 'jwt', maxText: 4000 })

  const openapi = await http(dev.url, 'GET', '/docs/json')
  assert.ok(openapi.body.paths['/client-config']?.get, 'documented in the OpenAPI document')
})

test('GET / serves the chat page and its bundle, pinned to this origin', async (t) => {
  await buildPagesOnce()
  const server = await startServer(t)
  const page = await http(server.url, 'GET', '/')
  assert.equal(page.status, 200)
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
  assert.match(page.text, /<ol id="messages"[^>]*aria-label="Messages"/)
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/)
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff')

  for (const [path, type] of [['/main.js', /javascript/], ['/style.css', /^text\/css/]] as const) {
    const asset = await http(server.url, 'GET', path)
    assert.equal(asset.status, 200, path)
    assert.match(asset.headers.get('content-type') ?? '', type, path)
  }
  const bundle = await http(server.url, 'GET', '/main.js')
  assert.doesNotMatch(bundle.text, /from\s*["']node:|require\(["']node:/, 'the bundle has no Node import')

  const missing = await http(server.url, 'GET', '/nosuch.html')
  assert.equal(missing.status, 404)
  assert.equal(missing.body.message, 'route GET /nosuch.html not found')
})
