import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { buildPagesOnce, launchBrowser, newPage, WAIT } from '../browser-helper.ts'
import { eventually, freePort, http, ROOT, spawnServer, startServer, tempDir } from '../helper.ts'
import { signHs256 } from '../security/jwt.ts'

const DESKTOP = { width: 1100, height: 700 }
const PHONE = { width: 390, height: 760 }

/** Screenshots go here (ignored by git); the path is printed with the test's diagnostics. */
const OUTPUT = join(ROOT, 'test-output', 'chat-page')

async function screenshot (t: TestContext, page: Page, name: string): Promise<void> {
  mkdirSync(OUTPUT, { recursive: true })
  const path = join(OUTPUT, `${name}.png`)
  await page.screenshot({ path })
  t.diagnostic(`screenshot: ${path}`)
}

/** Opens the page at `/`, signs in by name and joins `room`, using the keyboard only. */
async function signIn (t: TestContext, browser: Browser, url: string, user: string, room: string, viewport = DESKTOP): Promise<Page> {
  const page = await newPage(t, browser, viewport)
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  t.after(() => assert.deepEqual(errors, [], 'no script error on the page'))
  await page.goto(`${url}/`)
  await page.getByRole('textbox', { name: 'Name' }).focus()
  await page.keyboard.type(user)
  await page.keyboard.press('Enter')
  await status(page, `Connected as ${user}`)
  // After signing in, focus is in the Room field.
  await page.keyboard.type(room)
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { name: room, exact: true }).waitFor()
  return page
}

/** Writes a message and sends it with Enter, as a person would. */
async function say (page: Page, text: string): Promise<void> {
  const field = page.getByRole('textbox', { name: 'Message', exact: true })
  await field.fill(text)
  await field.press('Enter')
}

async function status (page: Page, text: string): Promise<void> {
  await page.getByRole('status').filter({ hasText: text }).waitFor({ timeout: 30_000 })
}

/** The `Messages` list as `user: text` lines, in the order shown. */
function shown (page: Page): Promise<string[]> {
  return page.getByRole('list', { name: 'Messages' }).getByRole('listitem').evaluateAll((items) => items.map((item) =>
    `${item.querySelector('.author')?.textContent ?? '?'}: ${item.querySelector('.text')?.textContent ?? '?'}`))
}

async function online (page: Page): Promise<string[]> {
  const names = await page.getByRole('list', { name: 'Online' }).getByRole('listitem').allTextContents()
  return names.map((name) => name.replace(/\s*\(you\)$/, '')).sort()
}

/** Waits until the page shows exactly `expected` (bounded), then checks it once more. */
async function shows (page: Page, expected: string[]): Promise<void> {
  await eventually(async () => JSON.stringify(await shown(page)) === JSON.stringify(expected), WAIT,
    `the page to show ${expected.length} messages`).catch(async (err: Error) => {
    assert.fail(`${err.message}; it shows ${JSON.stringify(await shown(page))}`)
  })
  assert.deepEqual(await shown(page), expected)
}

test('the chat page at / (Chromium)', { timeout: 180_000 }, async (t) => {
  const browser = await launchBrowser(t)
  if (browser === undefined) return
  await buildPagesOnce()

  await t.test('two people chat, see each other online, and keep chatting across a server restart', async (t) => {
    const port = String(await freePort())
    // The page's own origin is the only one allowed: it talks to the server it came from.
    const env = { CHAT_DB: join(tempDir(t), 'chat.sqlite'), PORT: port, CHAT_ALLOWED_ORIGINS: `http://127.0.0.1:${port}` }
    let server = await spawnServer(t, env)

    const alice = await signIn(t, browser, server.url, 'alice', 'lobby')
    const bob = await signIn(t, browser, server.url, 'bob', 'lobby', PHONE)
    await eventually(async () => (await online(alice)).length === 2, WAIT, 'bob online for alice')
    assert.deepEqual(await online(alice), ['alice', 'bob'])
    assert.deepEqual(await online(bob), ['alice', 'bob'])

    await say(alice, 'Hi Bob! Is the new release out?')
    await shows(bob, ['alice: Hi Bob! Is the new release out?'])
    await say(bob, 'Deploying now: the server restarts in a moment.')
    const before = ['alice: Hi Bob! Is the new release out?', 'bob: Deploying now: the server restarts in a moment.']
    await shows(alice, before)
    await screenshot(t, alice, 'desktop-before-restart')
    await screenshot(t, bob, 'phone-before-restart')

    server.child.kill('SIGKILL')
    await server.exited
    await status(alice, 'Reconnecting')
    await status(bob, 'Reconnecting')
    // Written while the server is down: the page keeps it until the connection is back.
    await say(alice, 'Did this one get through? I sent it while the server was down.')
    await status(alice, '1 waiting to be sent')
    await screenshot(t, alice, 'desktop-reconnecting')
    server = await spawnServer(t, env)

    await status(alice, 'Connected as alice')
    await status(bob, 'Connected as bob')
    const during = [...before, 'alice: Did this one get through? I sent it while the server was down.']
    await shows(bob, during)
    await say(bob, 'It did, and nothing is missing or doubled on my side.')
    await say(alice, 'Same here. Nice release!')
    const after = [...during, 'bob: It did, and nothing is missing or doubled on my side.', 'alice: Same here. Nice release!']
    await shows(alice, after)
    await shows(bob, after)
    await eventually(async () => (await online(alice)).length === 2, WAIT, 'bob online again for alice')
    assert.deepEqual(await online(alice), ['alice', 'bob'])
    assert.deepEqual(await online(bob), ['alice', 'bob'])

    const stored = await http(server.url, 'GET', '/rooms/lobby/messages?limit=100')
    assert.deepEqual(stored.body.messages.map((m: { user: string, text: string }) => `${m.user}: ${m.text}`), after,
      'each message stored once')
    await screenshot(t, alice, 'desktop')
    await screenshot(t, bob, 'phone')
  })

  await t.test('history on join, and older messages on demand', async (t) => {
    const server = await startServer(t)
    assert.equal((await http(server.url, 'POST', '/rooms', { id: 'archive' })).status, 201)
    for (let i = 1; i <= 60; i++) {
      assert.equal((await http(server.url, 'POST', '/rooms/archive/messages', { text: `note ${i}`, user: 'archivist' })).status, 201)
    }
    const page = await signIn(t, browser, server.url, 'reader', 'archive')
    const notes = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `archivist: note ${from + i}`)
    await shows(page, notes(11, 60))
    const older = page.getByRole('button', { name: 'Load older messages' })
    await older.click()
    await shows(page, notes(1, 60))
    await older.waitFor({ state: 'hidden' })
  })

  await t.test('in JWT mode the page asks for a token instead of a name', async (t) => {
    const secret = 'a-secret-of-at-least-thirty-two-characters'
    const server = await startServer(t, { CHAT_JWT_SECRET: secret })
    const page = await newPage(t, browser)
    await page.goto(`${server.url}/`)
    const token = page.getByLabel('Token')
    await token.waitFor()
    assert.equal(await page.getByRole('textbox', { name: 'Name' }).count(), 0)
    await token.fill(signHs256({ sub: 'dana' }, secret))
    await page.getByRole('button', { name: 'Connect' }).click()
    await status(page, 'Connected as dana')
    await page.getByRole('textbox', { name: 'Room' }).fill('lobby')
    await page.getByRole('button', { name: 'Join' }).click()
    await say(page, 'signed in with a token')
    await shows(page, ['dana: signed in with a token'])
  })
})
