import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { test, type TestContext } from 'node:test'
import type { ConsoleMessage, Page } from 'playwright-core'
import { launchBrowser, newPage, WAIT } from './browser-helper.ts'
import { connectAs, http, startServer } from './helper.ts'

const CHAT_PAGE = readFileSync(new URL('./fixtures/chat-page.html', import.meta.url))

/** Serves the chat page from its own loopback port, i.e. from an origin other than the service's. */
async function servePage (t: TestContext): Promise<string> {
  const server = createServer((request, response) => {
    if (request.url?.startsWith('/chat.html') === true) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      response.end(CHAT_PAGE)
    } else {
      response.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  const { port } = server.address() as { port: number }
  return `http://127.0.0.1:${port}`
}

function chatUrl (pageOrigin: string, wsUrl: string, user: string, room: string): string {
  const query = new URLSearchParams({ ws: `${wsUrl}?user=${user}`, room })
  return `${pageOrigin}/chat.html?${query.toString()}`
}

/** Waits until the page's log shows a line with exactly this text. */
async function line (page: Page, text: string): Promise<void> {
  await page.locator('#log li').filter({ hasText: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) })
    .first().waitFor({ timeout: WAIT })
}

/** The texts of the page's log lines that match a CSS attribute selector, in order. */
function lines (page: Page, selector = ''): Promise<string[]> {
  return page.locator(`#log li${selector}`).allTextContents()
}

test('the service in a real browser (Chromium)', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t)
  if (browser === undefined) return

  await t.test('a chat page on another origin talks with a Node client', async (t) => {
    const pageOrigin = await servePage(t)
    const server = await startServer(t, { CHAT_ALLOWED_ORIGINS: pageOrigin })
    const page = await newPage(t, browser)
    await page.goto(chatUrl(pageOrigin, server.wsUrl, 'alice', 'lobby'))
    await line(page, 'joined lobby seq=0 members=alice')
    assert.equal(await page.locator('#status').textContent(), 'open')

    const bob = await connectAs(t, server, 'bob')
    const bobJoined = await bob.join('lobby')
    assert.deepEqual([...bobJoined.members].sort(), ['alice', 'bob'])
    await line(page, 'presence join bob')

    // Alice types and sends from the page.
    await page.locator('#text').fill('hello from the browser')
    await page.locator('#send').click()
    const fromAlice = await bob.next('message')
    assert.equal(fromAlice.user, 'alice')
    assert.equal(fromAlice.text, 'hello from the browser')
    assert.equal(fromAlice.seq, 1)
    await line(page, '#1 alice: hello from the browser')
    await line(page, 'ack #1')

    const ack = await bob.request({ type: 'message', room: 'lobby', text: 'hi alice' })
    assert.equal(ack.seq, 2)
    await line(page, '#2 bob: hi alice')

    bob.close()
    await line(page, 'presence leave bob')

    assert.deepEqual(await lines(page, ':not([data-type="ack"])'), [
      'welcome alice',
      'joined lobby seq=0 members=alice',
      'presence join bob',
      '#1 alice: hello from the browser',
      '#2 bob: hi alice',
      'presence leave bob'
    ])
    assert.deepEqual(await lines(page, '[data-type="ack"]'), ['ack #1'])
  })

  await t.test('a page from an origin not in CHAT_ALLOWED_ORIGINS cannot connect (403)', async (t) => {
    const allowedOrigin = await servePage(t)
    const otherOrigin = await servePage(t)
    const server = await startServer(t, { CHAT_ALLOWED_ORIGINS: allowedOrigin })

    const refused = await newPage(t, browser)
    const handshakeError = refused.waitForEvent('console', {
      predicate: (message: ConsoleMessage) => message.text().includes('WebSocket connection'),
      timeout: WAIT
    })
    await refused.goto(chatUrl(otherOrigin, server.wsUrl, 'mallory', 'lobby'))
    await refused.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('closed'), null, { timeout: WAIT })
    assert.equal(await refused.locator('#status').textContent(), 'closed 1006')
    assert.equal(await refused.locator('#status').getAttribute('data-error'), 'true')
    assert.deepEqual(await lines(refused), [], 'no frame, not even welcome, reached the page')
    // Chromium reports the HTTP status of the refused handshake on the page's console.
    assert.match((await handshakeError).text(), /Unexpected response code: 403/)
    assert.equal(server.app.connectionRegistry.size, 0)

    // The same page from the allowed origin connects.
    const allowed = await newPage(t, browser)
    await allowed.goto(chatUrl(allowedOrigin, server.wsUrl, 'alice', 'lobby'))
    await line(allowed, 'joined lobby seq=0 members=alice')
    assert.equal(server.app.connectionRegistry.size, 1)
  })

  await t.test('the page reconnects with since and gets exactly the missed messages', async (t) => {
    const pageOrigin = await servePage(t)
    const server = await startServer(t, { CHAT_ALLOWED_ORIGINS: pageOrigin })
    const page = await newPage(t, browser)
    await page.goto(chatUrl(pageOrigin, server.wsUrl, 'alice', 'lobby'))
    await line(page, 'joined lobby seq=0 members=alice')

    const bob = await connectAs(t, server, 'bob')
    await bob.join('lobby')
    for (const text of ['one', 'two']) await bob.request({ type: 'message', room: 'lobby', text })
    await line(page, '#2 bob: two')

    await page.locator('#disconnect').click()
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('closed'), null, { timeout: WAIT })
    const left = await bob.next('presence')
    assert.equal(left.event, 'leave')
    assert.equal(left.user, 'alice')

    const missed = ['three', 'four', 'five']
    for (const text of missed) await bob.request({ type: 'message', room: 'lobby', text })

    await page.locator('#reconnect').click()
    await line(page, '#5 bob: five')
    const back = await bob.next('presence')
    assert.equal(back.event, 'join')
    assert.equal(back.user, 'alice')
    // A live message after the replay: nothing replayed may come twice or after it.
    await bob.request({ type: 'message', room: 'lobby', text: 'six' })
    await line(page, '#6 bob: six')

    const second = await lines(page, '[data-session="2"]')
    assert.equal(second[0], 'welcome alice')
    assert.match(second[1] ?? '', /^joined lobby seq=5 members=(alice,bob|bob,alice) recovered=true$/)
    assert.deepEqual(second.slice(2), ['#3 bob: three', '#4 bob: four', '#5 bob: five', '#6 bob: six'])
    assert.deepEqual(await lines(page, '[data-type="message"]'), [
      '#1 bob: one', '#2 bob: two', '#3 bob: three', '#4 bob: four', '#5 bob: five', '#6 bob: six'
    ])
  })

  await t.test('the OpenAPI UI at /docs renders the /rooms operations', async (t) => {
    const server = await startServer(t)
    const openapi = await http(server.url, 'GET', '/docs/json')
    assert.equal(openapi.status, 200)
    const paths = openapi.body.paths as Record<string, Record<string, unknown>>
    assert.ok(paths['/rooms'], 'the document lists /rooms')
    assert.ok(paths['/rooms']!.post, 'POST /rooms')
    assert.ok(paths['/rooms']!.get, 'GET /rooms')
    assert.ok(paths['/rooms/{id}'], 'the document lists /rooms/{id}')

    const page = await newPage(t, browser)
    await page.goto(`${server.url}/docs`)
    const createRoom = page.locator('.opblock-post').filter({ has: page.locator('.opblock-summary-path[data-path="/rooms"]') })
    await createRoom.waitFor({ timeout: WAIT })
    assert.equal((await createRoom.locator('.opblock-summary-method').textContent())?.trim(), 'POST')
    await page.getByText('POST', { exact: true }).first().waitFor({ timeout: WAIT })

    // Every operation of the document, and nothing else, is rendered.
    const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']
    const expected = Object.entries(paths)
      .flatMap(([path, item]) => Object.keys(item).filter((key) => methods.includes(key)).map((method) => `${method.toUpperCase()} ${path}`))
      .sort()
    const rendered = (await page.locator('.opblock-summary').evaluateAll((summaries) => summaries.map((summary) => {
      const method = summary.querySelector('.opblock-summary-method')?.textContent?.trim()
      const path = summary.querySelector('.opblock-summary-path')?.getAttribute('data-path')
      return `${method} ${path}`
    }))).sort()
    assert.deepEqual(rendered, expected)
  })
})
