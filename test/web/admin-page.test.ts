import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import axe from 'axe-core'
import type { Browser, Page } from 'playwright-core'
import { buildPagesOnce, launchBrowser, newPage, WAIT } from '../browser-helper.ts'
import { connectAs, eventually, http, ROOT, startServer } from '../helper.ts'
import { startReceiver, webhookConfig } from '../webhooks/receiver.ts'

const ADMIN = 'admin-token-for-the-page-0123456789'
const auth = { authorization: `Bearer ${ADMIN}` }
const DESKTOP = { width: 1280, height: 900 }
const PHONE = { width: 390, height: 844 }

/** Screenshots go here (ignored by git); the path is printed with the test's diagnostics. */
const OUTPUT = join(ROOT, 'test-output', 'admin-page')

async function screenshot (t: TestContext, page: Page, name: string, fullPage = false): Promise<string> {
  mkdirSync(OUTPUT, { recursive: true })
  const path = join(OUTPUT, `${name}.png`)
  await page.screenshot({ path, fullPage })
  t.diagnostic(`screenshot: ${path}`)
  return path
}

/**
 * Runs axe-core in the page and fails on any serious or critical violation. The engine goes
 * in through the DevTools protocol, which the page's Content-Security-Policy does not govern,
 * so the policy stays as strict as it is served.
 */
async function assertAccessible (t: TestContext, page: Page, state: string): Promise<void> {
  if (!await page.evaluate(() => 'axe' in window)) await page.evaluate(axe.source)
  const results = await page.evaluate(() => (window as unknown as { axe: typeof axe }).axe.run(document, { resultTypes: ['violations'] }))
  const summary = (v: axe.Result) => `${v.impact ?? '?'} ${v.id}: ${v.help} (${v.nodes.map((node) => node.target.join(' ')).join(', ')})`
  for (const violation of results.violations) t.diagnostic(`axe, ${state}: ${summary(violation)}`)
  const bad = results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
  assert.deepEqual(bad.map(summary), [], `no serious or critical accessibility violation (${state})`)
  assert.ok(results.passes === undefined || Array.isArray(results.passes))
}

/** The page at /admin, failing the test on any script error or Content-Security-Policy violation. */
async function openAdmin (t: TestContext, browser: Browser, url: string, viewport = DESKTOP): Promise<Page> {
  const page = await newPage(t, browser, viewport)
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(err.message))
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) problems.push(message.text())
  })
  t.after(() => assert.deepEqual(problems, [], 'no script error or CSP violation on the page'))
  await page.goto(`${url}/admin`)
  assert.equal(new URL(page.url()).pathname, '/admin/', '/admin redirects into the page folder')
  return page
}

async function status (page: Page, text: string | RegExp): Promise<void> {
  await page.getByRole('status').filter({ hasText: text }).waitFor()
}

/** The room list as `id name access online` lines. */
function roomRows (page: Page): Promise<string[]> {
  return page.getByRole('table', { name: /^Rooms/ }).locator('tbody tr').evaluateAll((rows) => rows.map((row) =>
    [...row.children].slice(0, 4).map((cell) => cell.textContent).join(' ')))
}

/** Clicks the dialog's confirming button and waits for it to close. */
async function confirm (page: Page, button: string): Promise<void> {
  const dialog = page.getByRole('dialog')
  await dialog.waitFor()
  await dialog.getByRole('button', { name: button }).click()
  await dialog.waitFor({ state: 'hidden' })
}

test('the admin page at /admin (Chromium)', { timeout: 240_000 }, async (t) => {
  const browser = await launchBrowser(t)
  if (browser === undefined) return
  await buildPagesOnce()

  await t.test('an operator signs in with the token and manages a private room, its grants and messages', async (t) => {
    const server = await startServer(t, { CHAT_ADMIN_TOKEN: ADMIN })
    const page = await openAdmin(t, browser, server.url)

    // The server answers 401 without a token: the page asks for one.
    const token = page.getByRole('textbox', { name: 'Admin token' })
    await token.waitFor()
    assert.equal(await page.getByRole('heading', { name: 'Rooms' }).count(), 0, 'nothing shown before the token')
    await assertAccessible(t, page, 'token form')
    await screenshot(t, page, 'token-form')

    await token.fill('not-the-token')
    await page.getByRole('button', { name: 'Use token' }).click()
    await page.getByRole('alert').filter({ hasText: 'The server refused this token' }).waitFor()
    assert.equal(await token.isVisible(), true, 'still asking')
    await screenshot(t, page, 'wrong-token')

    // The right token, typed and sent with Enter.
    await token.fill(ADMIN)
    await token.press('Enter')
    await page.getByRole('heading', { name: 'Rooms' }).waitFor()
    await page.getByText('Using the admin token').waitFor()
    const storage = await page.evaluate(() => ({
      session: sessionStorage.getItem('chat.admin-token'), local: localStorage.length, cookie: document.cookie
    }))
    assert.deepEqual(storage, { session: ADMIN, local: 0, cookie: '' }, 'the token is in the tab session only')
    await page.getByText('No failed events.').waitFor()
    await page.getByText('No rooms yet.').waitFor()
    await assertAccessible(t, page, 'empty room list')

    // Create a private room with its own history limit.
    const create = page.getByRole('form', { name: 'New room' })
    await create.getByLabel('Id', { exact: true }).fill('support')
    await create.getByLabel('Name', { exact: true }).fill('Support desk')
    await create.getByLabel('History limit').fill('500')
    await create.getByRole('checkbox', { name: 'Private' }).check()
    await create.getByRole('button', { name: 'Create room' }).click()
    await status(page, 'Room support created')
    assert.deepEqual(await roomRows(page), ['support Support desk Private 0'])
    const details = page.getByRole('region', { name: 'Room support' })
    await details.waitFor()
    const created = await http(server.url, 'GET', '/rooms/support', undefined, auth)
    assert.equal(created.status, 200)
    assert.deepEqual([created.body.name, created.body.private, created.body.historyLimit], ['Support desk', true, 500])

    // Grant bob, who can then join the private room; the list shows him online.
    await details.getByRole('form', { name: 'Access' }).getByLabel('User').fill('bob')
    await details.getByRole('button', { name: 'Grant', exact: true }).click()
    await status(page, 'bob may join support')
    const bob = await connectAs(t, server, 'bob')
    await bob.join('support')
    await page.getByRole('region', { name: 'Rooms' }).getByRole('button', { name: 'Refresh' }).click()
    await eventually(async () => (await roomRows(page))[0] === 'support Support desk Private 1', WAIT, 'the room online count to be 1')
    await details.getByRole('listitem').filter({ hasText: 'bob (1 connection)' }).waitFor()

    // The live figures come from /metrics: bob's connection, then his messages.
    const connections = page.getByRole('definition').filter({ has: page.locator('#live-connections') })
    await eventually(async () => (await page.locator('#live-connections').textContent()) === '1', WAIT, 'one connection shown')
    for (const text of ['Hello, is anyone there?', 'I need help with my order', 'Order 1234, thanks']) {
      const ack = await bob.request({ type: 'message', room: 'support', text })
      assert.equal(ack.type, 'ack')
    }
    // Three messages over a read interval of 3 s or more: 1/s, or 0.9/s and less when the
    // interval ran long or the messages fell into two intervals; never 0/s.
    const aboveZero = async (id: string) => /^(?:[1-9]|0[.,]\d*[1-9])/.test(await page.locator(id).textContent() ?? '')
    await eventually(() => aboveZero('#live-messages'), WAIT, 'a message rate above 0')
    await eventually(() => aboveZero('#live-deliveries'), WAIT, 'a delivery rate above 0')
    assert.match(await connections.getByRole('img').getAttribute('aria-label') ?? '', /Connections over the last \d+ minutes: 1 now/)

    // Delete bob's second message, after confirming.
    await details.getByRole('button', { name: 'Reload messages' }).click()
    await details.getByRole('cell', { name: 'Order 1234, thanks' }).waitFor()
    await assertAccessible(t, page, 'room details')
    await screenshot(t, page, 'desktop', true)
    await details.getByRole('button', { name: 'Delete message 2' }).click()
    await assertAccessible(t, page, 'confirmation dialog')
    await confirm(page, 'Delete message')
    await status(page, 'Message 2 deleted')
    const updated = await bob.next('updated')
    assert.deepEqual([updated.message.seq, updated.message.deleted, updated.message.text], [2, true, ''])
    await details.getByRole('cell', { name: '(deleted)' }).waitFor()
    assert.equal(await details.getByRole('button', { name: 'Delete message 2' }).count(), 0)
    const history = await http(server.url, 'GET', '/rooms/support/messages', undefined, auth)
    assert.deepEqual(history.body.messages.map((m: { seq: number, deleted?: boolean }) => [m.seq, m.deleted === true]),
      [[1, false], [2, true], [3, false]])

    // Revoke bob: his connection is kicked out of the room.
    await details.getByRole('form', { name: 'Access' }).getByLabel('User').fill('bob')
    await details.getByRole('button', { name: 'Revoke', exact: true }).click()
    await status(page, 'bob may no longer join support')
    assert.equal((await bob.next('kicked')).room, 'support')
    await details.getByText('Nobody.').waitFor()

    // Rename, let the history limit follow the server's default again, and slow the room down.
    await details.getByLabel('Name', { exact: true }).fill('Support')
    await details.getByLabel('History limit').fill('')
    assert.equal(await details.getByLabel('Slow mode (seconds)').inputValue(), '0')
    await details.getByLabel('Slow mode (seconds)').fill('2.5')
    await details.getByRole('button', { name: 'Save changes' }).click()
    await status(page, 'Room support saved')
    const saved = await http(server.url, 'GET', '/rooms/support', undefined, auth)
    assert.deepEqual([saved.body.name, saved.body.historyLimit, saved.body.slowModeMs], ['Support', 1000, 2500])
    assert.deepEqual(await roomRows(page), ['support Support Private 0'])

    // Delete the room. By keyboard first: Escape cancels and focus comes back, visibly.
    const deleteRoom = details.getByRole('button', { name: 'Delete room' })
    await deleteRoom.focus()
    await page.keyboard.press('Enter')
    await page.getByRole('dialog', { name: 'Delete room support?' }).waitFor()
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel', 'the safe choice has the focus')
    await page.keyboard.press('Escape')
    await page.getByRole('dialog').waitFor({ state: 'hidden' })
    assert.equal(await deleteRoom.evaluate((button) => button === document.activeElement), true, 'focus is back on the button')
    assert.notEqual(await deleteRoom.evaluate((button) => getComputedStyle(button).outlineStyle), 'none', 'the focus is visible')
    assert.equal((await http(server.url, 'GET', '/rooms/support', undefined, auth)).status, 200)
    await details.getByRole('button', { name: 'Delete room' }).click()
    await confirm(page, 'Cancel')
    assert.equal((await http(server.url, 'GET', '/rooms/support', undefined, auth)).status, 200)
    await details.getByRole('button', { name: 'Delete room' }).click()
    await confirm(page, 'Delete room')
    await status(page, 'Room support deleted')
    await details.waitFor({ state: 'hidden' })
    await page.getByText('No rooms yet.').waitFor()
    assert.equal((await http(server.url, 'GET', '/rooms/support', undefined, auth)).status, 404)

    // A reload keeps the token (the tab's session); forgetting it asks again.
    await page.reload()
    await page.getByRole('heading', { name: 'Rooms' }).waitFor()
    await page.getByRole('button', { name: 'Forget token' }).click()
    await token.waitFor()
    assert.equal(await page.evaluate(() => sessionStorage.getItem('chat.admin-token')), null)
  })

  await t.test('without CHAT_ADMIN_TOKEN no token is asked for; rooms come a page at a time', async (t) => {
    const server = await startServer(t)
    const ids = Array.from({ length: 23 }, (_, i) => `room-${String(i + 1).padStart(2, '0')}`)
    for (const id of ids) assert.equal((await http(server.url, 'POST', '/rooms', { id, name: `Room ${id.slice(5)}` })).status, 201)
    const page = await openAdmin(t, browser, server.url)
    await page.getByText('No admin token needed on this server').waitFor()
    assert.equal(await page.getByRole('textbox', { name: 'Admin token' }).isVisible(), false)
    assert.equal(await page.getByRole('button', { name: 'Forget token' }).isVisible(), false)

    await page.getByLabel('Rooms per page').selectOption('10')
    const shownIds = async () => (await roomRows(page)).map((row) => row.split(' ')[0])
    const next = page.getByRole('button', { name: 'Next page' })
    const previous = page.getByRole('button', { name: 'Previous page' })
    await eventually(async () => (await shownIds()).length === 10, WAIT, 'a page of 10 rooms')
    assert.deepEqual(await shownIds(), ids.slice(0, 10))
    assert.equal(await previous.isDisabled(), true)
    await next.click()
    await status(page, 'Rooms, page 2')
    assert.deepEqual(await shownIds(), ids.slice(10, 20))
    await next.click()
    await status(page, 'Rooms, page 3')
    assert.deepEqual(await shownIds(), ids.slice(20))
    assert.equal(await next.isDisabled(), true, 'the last page has no next')
    await previous.click()
    await status(page, 'Rooms, page 2')
    assert.deepEqual(await shownIds(), ids.slice(10, 20))
    await assertAccessible(t, page, 'room list')

    // A room made by someone else meanwhile; the error of a second create is readable.
    await page.getByLabel('Id', { exact: true }).fill('room-05')
    await page.getByRole('button', { name: 'Create room' }).click()
    await page.getByRole('alert').filter({ hasText: 'Could not create room room-05: room room-05 already exists (409 Conflict)' }).waitFor()
  })

  await t.test('on a phone the page fits the screen', async (t) => {
    const server = await startServer(t, { CHAT_ADMIN_TOKEN: ADMIN })
    assert.equal((await http(server.url, 'POST', '/rooms', { id: 'lobby', name: 'Lobby' }, auth)).status, 201)
    assert.equal((await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'Welcome to the lobby!', user: 'alice' }, auth)).status, 201)
    const page = await openAdmin(t, browser, server.url, PHONE)
    await page.getByRole('textbox', { name: 'Admin token' }).fill(ADMIN)
    await page.getByRole('button', { name: 'Use token' }).click()
    await page.getByRole('button', { name: 'Manage room lobby' }).click()
    await page.getByRole('region', { name: 'Room lobby' }).getByRole('cell', { name: 'Welcome to the lobby!' }).waitFor()
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    assert.equal(overflow, 0, 'no sideways scrolling of the page')
    await assertAccessible(t, page, 'room details on a phone')
    await screenshot(t, page, 'phone', true)

    // Deleted by someone else meanwhile: the page says so and closes the room.
    assert.equal((await http(server.url, 'DELETE', '/rooms/lobby', undefined, auth)).status, 204)
    await page.getByRole('button', { name: 'Reload messages' }).click()
    await status(page, 'Room lobby no longer exists')
    await page.getByRole('region', { name: 'Room lobby' }).waitFor({ state: 'hidden' })
    await page.getByText('No rooms yet.').waitFor()
  })

  await t.test('a user\'s data: exported as a JSON file with a summary; every message deleted after a confirmation', async (t) => {
    const server = await startServer(t, { CHAT_ADMIN_TOKEN: ADMIN })
    await http(server.url, 'POST', '/rooms', { id: 'lobby' }, auth)
    for (const text of ['first', 'second']) await http(server.url, 'POST', '/rooms/lobby/messages', { text, user: 'alice' }, auth)
    await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'not hers', user: 'bob' }, auth)
    const page = await openAdmin(t, browser, server.url)
    await page.getByRole('textbox', { name: 'Admin token' }).fill(ADMIN)
    await page.getByRole('button', { name: 'Use token' }).click()
    const panel = page.getByRole('region', { name: 'A user\'s data' })
    await panel.getByRole('textbox', { name: 'User' }).fill('alice')
    const [download] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Export data' }).click()])
    assert.equal(download.suggestedFilename(), 'alice.json')
    const saved = JSON.parse(await new Promise<string>((resolve, reject) => {
      void download.createReadStream().then((stream) => {
        let text = ''
        stream.on('data', (chunk: Buffer) => { text += chunk.toString() })
        stream.on('end', () => resolve(text))
        stream.on('error', reject)
      }, reject)
    }))
    assert.deepEqual(saved.messages.map((message: { text: string }) => message.text), ['first', 'second'])
    await panel.getByText('alice: 2 messages (0 deleted), read state in 0 rooms, 0 grants, 0 roles.').waitFor()
    await assertAccessible(t, page, 'a user\'s data')
    await screenshot(t, page, 'user-data')

    await panel.getByRole('button', { name: 'Delete messages' }).click()
    await confirm(page, 'Delete messages')
    await status(page, 'Deleted every message of alice')
    const left = (await http(server.url, 'GET', '/rooms/lobby/messages', undefined, auth)).body.messages
    assert.deepEqual(left.map((message: { text: string, deleted?: boolean }) => [message.text, message.deleted ?? false]), [['', true], ['', true], ['not hers', false]])
  })

  await t.test('failed webhook events are listed, and a retry sends them again', async (t) => {
    // A real receiver that refuses everything at first: with one attempt allowed, each event
    // is parked at once.
    const receiver = await startReceiver(t)
    receiver.answer = () => 503
    const server = await startServer(t, webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'room.created', CHAT_WEBHOOK_MAX_ATTEMPTS: 1 }))
    for (const id of ['alpha', 'beta']) assert.equal((await http(server.url, 'POST', '/rooms', { id })).status, 201)
    let parked: { id: string, room: string }[] = []
    await eventually(async () => {
      parked = (await http(server.url, 'GET', '/webhooks/failed')).body.events
      return parked.length === 2
    }, WAIT, 'both events parked')
    const byRoom = new Map(parked.map((event) => [event.room, event.id]))

    const page = await openAdmin(t, browser, server.url)
    const table = page.getByRole('table', { name: /^Events parked/ })
    await table.locator('tbody tr').first().waitFor()
    const rows = () => table.locator('tbody tr').evaluateAll((trs) => trs.map((row) =>
      [...row.children].slice(0, 6).map((cell) => cell.textContent).join(' | ')))
    assert.deepEqual((await rows()).sort(), ['alpha', 'beta'].map((room) =>
      `${byRoom.get(room)} | room.created | ${room} | ${receiver.url} | 1 | HTTP 503`).sort())
    await assertAccessible(t, page, 'failed webhook events')
    await screenshot(t, page, 'failed-webhooks')

    receiver.answer = () => 204
    const alpha = byRoom.get('alpha')!
    await page.getByRole('button', { name: `Retry event ${alpha}` }).click()
    await status(page, `Event ${alpha} is being sent again`)
    const [delivered] = await receiver.waitFor(1, 'room.created')
    assert.deepEqual([delivered!.id, delivered!.room], [alpha, 'alpha'], 'the parked event itself, sent again')
    // The page reloads the list before it announces the retry, so the row is already gone.
    assert.equal((await rows()).length, 1, 'it left the list')
    await page.getByRole('button', { name: `Retry event ${byRoom.get('beta')}` }).click()
    await page.getByText('No failed events.').waitFor()
    assert.equal(await table.isVisible(), false)
    await receiver.waitFor(2, 'room.created')
    receiver.assertAllValid()
  })
  await t.test('open reports are listed with the message as reported; dismiss keeps the message, delete deletes it', async (t) => {
    const server = await startServer(t)
    const alice = await connectAs(t, server, 'alice')
    const bob = await connectAs(t, server, 'bob')
    await alice.join('lobby')
    await bob.join('lobby')
    const rude = await bob.request({ type: 'message', room: 'lobby', text: 'a rude remark' })
    const odd = await bob.request({ type: 'message', room: 'lobby', text: 'an odd remark' })
    assert.equal((await alice.request({ type: 'report', room: 'lobby', seq: rude.seq, reason: 'insulting' })).type, 'ack')
    assert.equal((await alice.request({ type: 'report', room: 'lobby', seq: odd.seq })).type, 'ack')

    const page = await openAdmin(t, browser, server.url)
    const table = page.getByRole('table', { name: /^Messages members reported/ })
    await table.locator('tbody tr').first().waitFor()
    const rows = () => table.locator('tbody tr').evaluateAll((trs) => trs.map((row) =>
      [...row.children].slice(0, 5).map((cell) => cell.textContent).join(' | ')))
    assert.deepEqual(await rows(), [`lobby #${rude.seq} | a rude remark | bob | alice | insulting`, `lobby #${odd.seq} | an odd remark | bob | alice | `])
    await assertAccessible(t, page, 'open reports')
    await screenshot(t, page, 'open-reports')

    await page.getByRole('button', { name: `Delete message report of lobby message ${rude.seq}` }).click()
    await status(page, `Message ${rude.seq} of lobby deleted; the report of lobby message ${rude.seq} closed`)
    const updated = await alice.next((frame) => frame.type === 'updated' && frame.message.deleted === true)
    assert.equal(updated.message.seq, rude.seq)
    await page.getByRole('button', { name: `Dismiss report of lobby message ${odd.seq}` }).click()
    await page.getByText('No open reports.').waitFor()
    assert.deepEqual((await http(server.url, 'GET', '/reports')).body.reports, [])
    const history = await http(server.url, 'GET', '/rooms/lobby/messages')
    assert.deepEqual(history.body.messages.map((m: { text: string }) => m.text), ['', 'an odd remark'])
  })
  await t.test('a room\'s bans and mutes: listed, given from the form (a ban kicks), lifted', async (t) => {
    const server = await startServer(t)
    const bob = await connectAs(t, server, 'bob')
    await bob.join('lobby')
    assert.equal((await http(server.url, 'PUT', '/rooms/lobby/mutes/carol', { reason: 'shouting' })).status, 204)
    const page = await openAdmin(t, browser, server.url)
    await page.getByRole('button', { name: 'Manage room lobby' }).click()
    const table = page.getByRole('table', { name: /^Bans and mutes in force/ })
    await table.locator('tbody tr').first().waitFor()
    const form = page.getByRole('form', { name: 'Bans and mutes' })
    await form.getByLabel('User').fill('bob')
    await form.getByLabel('Minutes').fill('30')
    await form.getByLabel('Reason').fill('spam')
    await form.getByRole('button', { name: 'Ban', exact: true }).click()
    await status(page, 'bob banned from lobby for 30 min')
    assert.match((await bob.next('kicked')).reason, /^banned until .*: spam$/)
    const rows = () => table.locator('tbody tr').evaluateAll((trs) => trs.map((row) =>
      [...row.children].slice(0, 2).map((cell) => cell.textContent).join(' | ') + ' | ' + row.children[3]!.textContent))
    assert.deepEqual(await rows(), ['bob | Banned | spam', 'carol | Muted | shouting'])
    await assertAccessible(t, page, 'bans and mutes')
    await screenshot(t, page, 'bans-and-mutes', true)
    await page.getByRole('button', { name: 'Lift mute of carol' }).click()
    await status(page, 'Mute of carol in lobby lifted')
    assert.deepEqual((await http(server.url, 'GET', '/rooms/lobby/mutes')).body.mutes, [])
    assert.equal((await http(server.url, 'GET', '/rooms/lobby/bans')).body.bans.length, 1)
  })
})
