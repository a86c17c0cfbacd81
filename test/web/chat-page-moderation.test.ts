import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { buildPagesOnce, launchBrowser, WAIT } from '../browser-helper.ts'
import { client } from '../client/client-helper.ts'
import { http, startServer } from '../helper.ts'
import { assertAccessible, item, say, screenshot, shows, signIn } from './chat-page-helper.ts'

async function noticeShows (page: Page, text: RegExp): Promise<void> {
  await page.getByRole('alert').filter({ hasText: text }).waitFor({ timeout: WAIT })
}

test('the chat page: reports, and a moderator\'s controls; a muted or banned user is told why and until when, a slowed one how long to wait (Chromium)', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t)
  if (browser === undefined) return
  await buildPagesOnce()
  const server = await startServer(t)
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'lobby' })).status, 201)
  assert.equal((await http(server.url, 'PUT', '/rooms/lobby/roles/mod', { role: 'moderator' })).status, 204)
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  await bob.connect()
  await bob.join('lobby')
  await bob.send('lobby', 'buy cheap stuff')

  // Anyone reports a message; the queue has it.
  const alice = await signIn(t, browser, server.url, 'alice', 'lobby')
  await shows(alice, ['bob: buy cheap stuff'])
  assert.equal(await item(alice, 'buy cheap stuff').getByRole('button', { name: 'Mute' }).count(), 0, 'no moderation controls without a role')
  await item(alice, 'buy cheap stuff').getByRole('button', { name: 'Report' }).click()
  await noticeShows(alice, /Reported bob's message to the moderators/)
  assert.equal((await http(server.url, 'GET', '/reports')).body.reports.length, 1)

  // The moderator sees Delete, Mute, Kick and Ban on others' messages, and uses Mute.
  const mod = await signIn(t, browser, server.url, 'mod', 'lobby')
  await shows(mod, ['bob: buy cheap stuff'])
  const controls = item(mod, 'buy cheap stuff')
  for (const name of ['Delete', 'Mute bob for 10 minutes', 'Kick bob from the room', 'Ban bob from the room for a day']) {
    await controls.getByRole('button', { name }).waitFor()
  }
  const online = mod.getByRole('region', { name: 'Online' })
  for (const name of ['Mute bob for 10 minutes', 'Kick bob from the room', 'Ban bob from the room for a day']) await online.getByRole('button', { name }).waitFor()
  assert.equal(await online.getByRole('button', { name: /mod/ }).count(), 0, 'nothing to do on oneself')
  assert.equal(await alice.getByRole('region', { name: 'Online' }).getByRole('button').count(), 0, 'no controls without a role')
  await assertAccessible(t, mod, 'moderation controls')
  await screenshot(t, mod, 'desktop-moderator')
  await controls.getByRole('button', { name: 'Mute bob for 10 minutes' }).click()
  await noticeShows(mod, /bob is muted in lobby for 10 minutes/)
  await assert.rejects(bob.send('lobby', 'let me talk'), /muted in room lobby until \d{4}-/)

  // A muted user on the page is told why and until when; a ban removes and tells it too.
  const carol = await signIn(t, browser, server.url, 'carol', 'lobby')
  await say(mod, 'hello all')
  await shows(carol, ['bob: buy cheap stuff', 'mod: hello all'])
  await item(mod, 'hello all').waitFor()
  const modClient = client(t, { url: server.wsUrl, user: 'mod' })
  await modClient.connect()
  await modClient.mute('lobby', 'carol', { durationMs: 60_000, reason: 'shouting' })
  await say(carol, 'WHY')
  await noticeShows(carol, /Not sent to lobby: carol is muted in room lobby until .* \(shouting\)/)
  await modClient.ban('lobby', 'carol', { reason: 'still shouting' })
  await noticeShows(carol, /You were removed from lobby: banned until lifted: still shouting/)
  await screenshot(t, carol, 'desktop-banned')

  // In slow mode, a message too soon is not sent, and the page says how long to wait.
  await modClient.slowMode('lobby', 60_000)
  await say(alice, 'first in slow mode')
  await item(alice, 'first in slow mode').waitFor()
  await say(alice, 'second too soon')
  await noticeShows(alice, /Not sent to lobby: room lobby is in slow mode \(one message every 60 s\): wait \d+(\.\d)? s before sending again/)
})

test('the chat page: a "Direct messages" section opens a conversation and lists it for the other person (Chromium)', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t)
  if (browser === undefined) return
  await buildPagesOnce()
  const server = await startServer(t)
  const alice = await signIn(t, browser, server.url, 'alice', 'lobby')
  await alice.getByRole('navigation', { name: 'Direct messages' }).getByRole('textbox', { name: 'Who' }).fill('bob')
  await alice.getByRole('button', { name: 'Open' }).click()
  await alice.getByRole('heading', { name: 'With bob' }).waitFor()
  await say(alice, 'psst, bob')
  await shows(alice, ['alice: psst, bob'])

  const bob = await signIn(t, browser, server.url, 'bob', 'lobby')
  const conversations = bob.getByRole('navigation', { name: 'Direct messages' })
  await conversations.getByRole('button', { name: /^alice/ }).click()
  await bob.getByRole('heading', { name: 'With alice' }).waitFor()
  await shows(bob, ['alice: psst, bob'])
  await assertAccessible(t, bob, 'a direct message')
  await screenshot(t, bob, 'desktop-direct-message')
})
