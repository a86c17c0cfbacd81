import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import { buildPagesOnce, launchBrowser, WAIT } from '../browser-helper.ts'
import { client } from '../client/client-helper.ts'
import { eventually, http, startServer } from '../helper.ts'
import { type PushSubscriptionJSON, startPushService } from '../push/push-service.ts'
import { assertAccessible, DESKTOP, say, screenshot, signIn, status } from './chat-page-helper.ts'
import { pushConfig as basePushConfig, VAPID } from '../features/push/push-helpers.ts'

/** Web Push towards a local push service on 127.0.0.1 (CHAT_PUSH_ALLOWED_HOSTS lets it through), with the default window. */
const pushConfig = basePushConfig({ CHAT_PUSH_COALESCE_MS: 10000 })

/**
 * Headless Chromium has no push service: its contexts are incognito, where the Push API is
 * refused, and a persistent profile waits forever for Google's. So PushManager's subscribe
 * answers with a subscription of the local push service instead, recording what it was asked;
 * everything else (permission, service worker, the page, the SDK, the server) is real.
 */
async function stubPushManager (context: BrowserContext, subscription: PushSubscriptionJSON): Promise<void> {
  // A string: tsx would wrap a function's inner functions in a helper the page does not have.
  await context.addInitScript(`{
    const json = ${JSON.stringify(subscription)}
    let current = null
    window.pushCalls = []
    PushManager.prototype.subscribe = async (options) => {
      const key = new Uint8Array(options.applicationServerKey)
      window.pushCalls.push({ userVisibleOnly: options.userVisibleOnly === true, key: btoa(String.fromCharCode(...key)) })
      current = { endpoint: json.endpoint, options: null, toJSON: () => ({ ...json, expirationTime: null }), unsubscribe: async () => { current = null; return true } }
      return current
    }
    PushManager.prototype.getSubscription = async () => current
  }`)
}

async function signInOn (t: TestContext, page: Page, url: string, user: string): Promise<void> {
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  t.after(() => assert.deepEqual(errors, [], 'no script error on the page'))
  await page.goto(url)
  await page.getByRole('textbox', { name: 'Name' }).fill(user)
  await page.keyboard.press('Enter')
  await status(page, `Connected as ${user}`)
}

async function subscriptionsOf (url: string, user: string): Promise<string[]> {
  const exported = await http(url, 'GET', `/users/${user}/export`)
  return (exported.body.pushSubscriptions as { endpoint: string }[]).map((entry) => entry.endpoint)
}

/** The notifications the page's service worker shows now. */
function notificationsShown (page: Page) {
  return page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications())
    .map((shown) => ({ title: shown.title, body: shown.body, tag: shown.tag, data: shown.data as unknown })))
}

test('the chat page: sw.js served, Enable notifications subscribes through the SDK, the level is per room, a push shows who wrote where (Chromium)', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t)
  if (browser === undefined) return
  await buildPagesOnce()
  const service = await startPushService()
  t.after(() => service.close())
  const server = await startServer(t, pushConfig)

  const worker = await http(server.url, 'GET', '/sw.js')
  assert.equal(worker.status, 200)
  assert.match(worker.headers.get('content-type') ?? '', /javascript/)
  assert.doesNotMatch(worker.text, /from\s*["']node:|require\(/, 'a classic script with no import')

  const context = await browser.newContext({ viewport: DESKTOP })
  t.after(() => context.close())
  context.setDefaultTimeout(WAIT)
  await context.grantPermissions(['notifications'], { origin: server.url })
  const subscription = service.subscription('alice')
  await stubPushManager(context, subscription)
  const page = await context.newPage()
  await signInOn(t, page, `${server.url}/`, 'alice')
  await page.getByRole('textbox', { name: 'Room' }).fill('lobby')
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { name: 'lobby', exact: true }).waitFor()

  // Offered, labelled and explained; the level of the room beside its title.
  const notifications = page.getByRole('region', { name: 'Notifications' })
  const enable = notifications.getByRole('button', { name: 'Enable notifications' })
  await enable.waitFor()
  assert.match(await enable.getAttribute('aria-describedby') ?? '', /push-status/)
  assert.match(await notifications.getByRole('status').innerText(), /notified of new messages/)
  const level = page.getByRole('combobox', { name: 'Notify me of' })
  assert.equal(await level.inputValue(), 'all')
  await assertAccessible(t, page, 'notifications offered')

  await enable.click()
  await notifications.getByRole('button', { name: 'Turn off notifications' }).waitFor()
  assert.match(await notifications.getByRole('status').innerText(), /on in this browser/)
  assert.deepEqual(await subscriptionsOf(server.url, 'alice'), [subscription.endpoint], 'push_subscribe stored the subscription')
  const calls = await page.evaluate(() => (window as unknown as { pushCalls: { userVisibleOnly: boolean, key: string }[] }).pushCalls)
  assert.deepEqual(calls, [{ userVisibleOnly: true, key: Buffer.from(VAPID.publicKey, 'base64url').toString('base64') }], 'subscribed with the server\'s key')
  const scriptUrl = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL)
  assert.equal(scriptUrl, `${server.url}/sw.js`)
  await screenshot(t, page, 'desktop-notifications-on')

  // Mentions only, then away from the lobby: bob's plain message pushes nothing, his mention does.
  await say(page, 'hi, I am off for a while')
  await level.selectOption('mentions')
  await page.waitForFunction(() => localStorage.getItem('chat.notify.alice.lobby') === 'mentions')
  await page.getByRole('button', { name: 'Leave' }).click()
  await page.getByRole('heading', { name: 'Join a room to start' }).waitFor()
  assert.ok(await level.isHidden(), 'no level without a room')
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  await bob.connect()
  await bob.join('lobby')
  await bob.send('lobby', 'nothing for alice')
  const mention = await bob.send('lobby', '@alice your turn')
  await service.waitFor((received) => received.length === 1)
  const payload = service.received[0]!.payload
  assert.deepEqual(JSON.parse(payload), { type: 'message', room: 'lobby', seq: mention.seq, user: 'bob', text: '@alice your turn', mentions: ['alice'] })

  // That very payload, delivered to the page's worker (DevTools protocol): the notification it shows.
  const cdp = await context.newCDPSession(page)
  const registrations: { registrationId: string, scopeURL: string }[] = []
  cdp.on('ServiceWorker.workerRegistrationUpdated', (event) => registrations.push(...event.registrations))
  await cdp.send('ServiceWorker.enable')
  await eventually(() => registrations.some((registration) => registration.scopeURL === `${server.url}/`), WAIT, 'the worker\'s registration')
  const { registrationId } = registrations.find((registration) => registration.scopeURL === `${server.url}/`)!
  await cdp.send('ServiceWorker.deliverPushMessage', { origin: server.url, registrationId, data: payload })
  await eventually(async () => (await notificationsShown(page)).length === 1, WAIT, 'a notification shown')
  assert.deepEqual(await notificationsShown(page), [{ title: 'bob in lobby', body: '@alice your turn', tag: 'room:lobby', data: { room: 'lobby', seq: mention.seq } }])

  // The worker's answer to a click on it: an open chat page shows the room.
  await page.evaluate(() => navigator.serviceWorker.dispatchEvent(new MessageEvent('message', { data: { type: 'open-room', room: 'lobby' } })))
  await page.getByRole('heading', { name: 'lobby', exact: true }).waitFor()
  assert.equal(await level.inputValue(), 'mentions', 'the level chosen is shown again')

  // Signing out stops this browser's pushes for alice; signing in again turns them back on.
  await page.getByRole('button', { name: 'Sign out' }).click()
  await eventually(async () => (await subscriptionsOf(server.url, 'alice')).length === 0, WAIT, 'the subscription removed on sign-out')
  await page.getByRole('textbox', { name: 'Name' }).fill('alice')
  await page.keyboard.press('Enter')
  await notifications.getByRole('button', { name: 'Turn off notifications' }).waitFor()
  assert.deepEqual(await subscriptionsOf(server.url, 'alice'), [subscription.endpoint])
  await notifications.getByRole('button', { name: 'Turn off notifications' }).click()
  await enable.waitFor()
  assert.deepEqual(await subscriptionsOf(server.url, 'alice'), [], 'push_unsubscribe')

  // A notification's URL (the worker opens it when no chat page is open): the room, once signed in.
  const opened = await context.newPage()
  await signInOn(t, opened, `${server.url}/?room=lobby`, 'alice')
  await opened.getByRole('heading', { name: 'lobby', exact: true }).waitFor()
  assert.equal(new URL(opened.url()).search, '', 'the room is taken out of the address')
})

test('the chat page offers no notifications without Web Push, and explains why a browser without the Push API cannot (Chromium)', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t)
  if (browser === undefined) return
  await buildPagesOnce()
  const plain = await startServer(t)
  assert.equal((await http(plain.url, 'GET', '/push/key')).status, 404)
  const page = await signIn(t, browser, plain.url, 'alice', 'lobby')
  // The key's answer came long before the connection: nothing will appear.
  await page.evaluate(() => fetch('push/key').then((answer) => answer.status))
  assert.equal(await page.getByRole('button', { name: /notifications/i }).count(), 0, 'no notifications button')
  assert.equal(await page.getByRole('region', { name: 'Notifications' }).count(), 0)
  assert.equal(await page.getByRole('combobox', { name: 'Notify me of' }).count(), 0, 'no level either')
  await assertAccessible(t, page, 'without push')

  const server = await startServer(t, pushConfig)
  const context = await browser.newContext({ viewport: DESKTOP })
  t.after(() => context.close())
  context.setDefaultTimeout(WAIT)
  await context.addInitScript(() => { Reflect.deleteProperty(window, 'PushManager') })
  const old = await context.newPage()
  await signInOn(t, old, `${server.url}/`, 'alice')
  const enable = old.getByRole('button', { name: 'Enable notifications' })
  await enable.waitFor()
  assert.ok(await enable.isDisabled(), 'offered, but disabled')
  const reason = old.getByRole('region', { name: 'Notifications' }).getByRole('status')
  assert.match(await reason.innerText(), /cannot receive notifications/)
  await assertAccessible(t, old, 'push unsupported')
})
