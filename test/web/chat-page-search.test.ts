import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildPagesOnce, launchBrowser } from '../browser-helper.ts'
import { http, startServer } from '../helper.ts'
import { assertAccessible, say, screenshot, shows, signIn } from './chat-page-helper.ts'

test('the chat page: the search box finds messages in the rooms joined; a result opens its room (Chromium)', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t)
  if (browser === undefined) return
  await buildPagesOnce()
  const server = await startServer(t)
  await http(server.url, 'POST', '/rooms', { id: 'releases' })
  await http(server.url, 'POST', '/rooms/releases/messages', { text: 'Release 2.0 is out', user: 'bob' })
  await http(server.url, 'POST', '/rooms/elsewhere/messages', { text: 'release party', user: 'bob' })
  const alice = await signIn(t, browser, server.url, 'alice', 'releases')
  await shows(alice, ['bob: Release 2.0 is out'])
  await alice.getByRole('textbox', { name: 'Room', exact: true }).fill('lobby')
  await alice.getByRole('button', { name: 'Join' }).click()
  await alice.getByRole('heading', { name: 'lobby', exact: true }).waitFor()
  await say(alice, 'the release notes are drafted')
  await shows(alice, ['alice: the release notes are drafted'])

  const search = alice.getByRole('search', { name: 'Search' })
  await search.getByRole('searchbox', { name: 'Words' }).fill('REL')
  await search.getByRole('button', { name: 'Search' }).click()
  await alice.getByRole('status').filter({ hasText: '2 messages found for “REL”' }).waitFor()
  const results = alice.getByRole('list', { name: 'Search results' }).getByRole('button')
  assert.deepEqual(await results.allTextContents(), ['lobby · alice: the release notes are drafted', 'releases · bob: Release 2.0 is out'],
    'newest first, in joined rooms only')
  await assertAccessible(t, alice, 'search results')
  await screenshot(t, alice, 'desktop-search')
  await results.nth(1).click()
  await alice.getByRole('heading', { name: 'releases', exact: true }).waitFor()

  await search.getByRole('searchbox', { name: 'Words' }).fill('nothing-like-this')
  await search.getByRole('button', { name: 'Search' }).click()
  await alice.getByRole('status').filter({ hasText: 'Nothing found for “nothing-like-this”' }).waitFor()
  assert.equal(await results.count(), 0)
})
