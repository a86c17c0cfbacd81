import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildPagesOnce } from '../browser-helper.ts'
import { http, startServer } from '../helper.ts'

test('GET /client-config tells a page how to sign in', async (t) => {
  const dev = await startServer(t, { CHAT_MAX_TEXT: 500 })
  const answer = await http(dev.url, 'GET', '/client-config')
  assert.equal(answer.status, 200)
  assert.deepEqual(answer.body, { auth: 'dev', maxText: 500, adminToken: false })

  const jwt = await startServer(t, { CHAT_JWT_SECRET: 'a-secret-of-at-least-thirty-two-characters', CHAT_ADMIN_TOKEN: 'admin' })
  const jwtAnswer = await http(jwt.url, 'GET', '/client-config')
  assert.equal(jwtAnswer.status, 200, 'public: no admin token needed')
  assert.deepEqual(jwtAnswer.body, { auth: 'jwt', maxText: 4000, adminToken: true })

  const openapi = await http(dev.url, 'GET', '/docs/json')
  assert.ok(openapi.body.paths['/client-config']?.get, 'documented in the OpenAPI document')
})

/**
 * Fetches a page and its bundle: HTML pinned to this origin by its headers, with no inline
 * script or style for the policy to refuse; main.js and style.css served with their types,
 * the bundle free of Node imports. Answers the page's HTML and the bundle's text.
 */
async function servesPage (url: string, folder: string): Promise<{ html: string, bundle: string }> {
  const page = await http(url, 'GET', folder)
  assert.equal(page.status, 200, folder)
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/)
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff')
  assert.doesNotMatch(page.text, /<script>|<style>| style=/, 'no inline script or style')
  for (const [file, type] of [['main.js', /javascript/], ['style.css', /^text\/css/]] as const) {
    const asset = await http(url, 'GET', folder + file)
    assert.equal(asset.status, 200, folder + file)
    assert.match(asset.headers.get('content-type') ?? '', type, folder + file)
  }
  const bundle = await http(url, 'GET', `${folder}main.js`)
  assert.doesNotMatch(bundle.text, /from\s*["']node:|require\(["']node:/, 'the bundle has no Node import')
  return { html: page.text, bundle: bundle.text }
}

test('GET / serves the chat page and its bundle, pinned to this origin', async (t) => {
  await buildPagesOnce()
  const server = await startServer(t)
  const { html } = await servesPage(server.url, '/')
  assert.match(html, /<ol id="messages"[^>]*aria-label="Messages"/)

  const missing = await http(server.url, 'GET', '/nosuch.html')
  assert.equal(missing.status, 404)
  assert.equal(missing.body.message, 'route GET /nosuch.html not found')
})

test('GET /admin serves the admin page and its bundle, pinned to this origin', async (t) => {
  await buildPagesOnce()
  const server = await startServer(t, { CHAT_ADMIN_TOKEN: 'admin' })
  const redirect = await fetch(`${server.url}/admin`, { redirect: 'manual' })
  assert.equal(redirect.status, 301)
  assert.equal(redirect.headers.get('location'), '/admin/')

  // Public: the page asks for the token itself.
  const { html, bundle } = await servesPage(server.url, '/admin/')
  assert.match(html, /<label for="token">Admin token<\/label>/)
  assert.doesNotMatch(bundle, /localStorage|document\.cookie/, 'the token is kept in the tab session only')
})
