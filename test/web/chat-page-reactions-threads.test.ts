import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { buildPagesOnce, launchBrowser, WAIT } from '../browser-helper.ts'
import { client } from '../client/client-helper.ts'
import { eventually, http, startServer } from '../helper.ts'
import { assertAccessible, DESKTOP, item, PHONE, say, screenshot, shows, signIn } from './chat-page-helper.ts'

/** The thread panel: a complementary landmark named "Thread". */
function threadPanel (page: Page) {
  return page.getByRole('complementary', { name: 'Thread' })
}

/** The thread panel's lists as `user: text` lines: the original message, then the replies. */
async function threadShows (page: Page, root: string, replies: string[]): Promise<void> {
  const lines = (name: string) => threadPanel(page).getByRole('list', { name }).getByRole('listitem').evaluateAll((items) =>
    items.map((item) => `${item.querySelector('.author')?.textContent ?? '?'}: ${item.querySelector('.text')?.textContent ?? '?'}`))
  const expected = JSON.stringify([[root], replies])
  await eventually(async () => JSON.stringify([await lines('Original message'), await lines('Replies')]) === expected, WAIT,
    `the thread to show ${replies.length} replies`).catch(async (err: Error) => {
    assert.fail(`${err.message}; it shows ${JSON.stringify([await lines('Original message'), await lines('Replies')])}`)
  })
}

/** The name of the element that has the focus. */
function focused (page: Page): Promise<string | undefined> {
  return page.evaluate(() => {
    const active = document.activeElement
    return active?.getAttribute('aria-label') ?? active?.getAttribute('placeholder') ?? active?.textContent ?? undefined
  })
}

test('the chat page: reactions, threads and mentions (Chromium)', { timeout: 180_000 }, async (t) => {
  const browser = await launchBrowser(t)
  if (browser === undefined) return
  await buildPagesOnce()

  await t.test('reactions: a picker adds one, a toggle takes it back, and the other page sees the counts', async (t) => {
    const server = await startServer(t)
    const alice = await signIn(t, browser, server.url, 'alice', 'lobby')
    const bob = await signIn(t, browser, server.url, 'bob', 'lobby', PHONE)
    await say(alice, 'Shall we ship it today?')
    await shows(bob, ['alice: Shall we ship it today?'])

    // bob picks 👍 from the short list.
    const add = item(bob, 'ship it').getByRole('button', { name: 'Add reaction' })
    await add.click()
    assert.equal(await add.getAttribute('aria-expanded'), 'true')
    const picker = item(bob, 'ship it').getByRole('group', { name: 'Pick a reaction' })
    await picker.getByRole('button', { name: '👍', exact: true }).click()
    await picker.waitFor({ state: 'hidden' })
    await item(bob, 'ship it').getByRole('button', { name: '👍 1', pressed: true }).waitFor()
    await item(alice, 'ship it').getByRole('button', { name: '👍 1', pressed: false }).waitFor()

    // alice joins in with the toggle, and by keyboard adds 🎉 from the picker.
    await item(alice, 'ship it').getByRole('button', { name: '👍 1' }).click()
    await item(alice, 'ship it').getByRole('button', { name: '👍 2', pressed: true }).waitFor()
    await item(bob, 'ship it').getByRole('button', { name: '👍 2', pressed: true }).waitFor()
    await item(alice, 'ship it').getByRole('button', { name: 'Add reaction' }).focus()
    await alice.keyboard.press('Enter')
    assert.equal(await focused(alice), '👍', 'the picker opens with the focus on its first emoji')
    await alice.keyboard.press('Escape')
    assert.equal(await focused(alice), 'Add reaction', 'Escape closes it, and the focus goes back')
    await assertAccessible(t, alice, 'reactions')
    await alice.keyboard.press('Enter')
    await screenshot(t, alice, 'desktop-reaction-picker')
    for (let i = 0; i < 3; i++) await alice.keyboard.press('Tab')
    assert.equal(await focused(alice), '🎉')
    await alice.keyboard.press('Enter')
    await item(bob, 'ship it').getByRole('button', { name: '🎉 1', pressed: false }).waitFor()
    assert.equal(await focused(alice), 'Add reaction', 'after the pick, the focus is back on Add reaction')

    // bob takes his back: the count drops on both pages.
    await item(bob, 'ship it').getByRole('button', { name: '👍 2' }).click()
    await item(bob, 'ship it').getByRole('button', { name: '👍 1', pressed: false }).waitFor()
    await item(alice, 'ship it').getByRole('button', { name: '👍 1', pressed: true }).waitFor()
    await assertAccessible(t, alice, 'reactions shown')
    await screenshot(t, alice, 'desktop-reactions')
    await screenshot(t, bob, 'phone-reactions')
    await eventually(async () => {
      const { body } = await http(server.url, 'GET', '/rooms/lobby/messages/1/reactions')
      return JSON.stringify(body.reactions.map((reaction: { emoji: string, user: string }) => `${reaction.emoji} ${reaction.user}`)) ===
        JSON.stringify(['👍 alice', '🎉 alice'])
    }, WAIT, 'the server has alice\'s two reactions and none of bob\'s')
    assert.deepEqual(await item(alice, 'ship it').getByRole('group', { name: 'Reactions' }).getByRole('button').allTextContents(), ['👍 1', '🎉 1'])
  })

  await t.test('threads: Reply opens the thread panel, replies show live on both pages, and the root counts them', async (t) => {
    const server = await startServer(t)
    const alice = await signIn(t, browser, server.url, 'alice', 'lobby')
    const bob = await signIn(t, browser, server.url, 'bob', 'lobby')
    const carol = client(t, { url: server.wsUrl, user: 'carol' })
    await carol.connect()
    await carol.join('lobby')
    await say(alice, 'Who reviews #42?')
    await say(alice, 'Lunch at noon')
    await shows(bob, ['alice: Who reviews #42?', 'alice: Lunch at noon'])
    assert.equal(await threadPanel(bob).count(), 0, 'no thread panel until one is opened')

    await item(bob, 'Who reviews').getByRole('button', { name: 'Reply', exact: true }).click()
    await threadShows(bob, 'alice: Who reviews #42?', [])
    assert.equal(await focused(bob), 'Reply in the thread', 'the focus is in the thread\'s reply field')
    await bob.keyboard.type('I will, after lunch')
    await bob.keyboard.press('Enter')
    await threadShows(bob, 'alice: Who reviews #42?', ['bob: I will, after lunch'])

    // alice sees the count on the root, and the reply in the room's list, marked as one.
    const count = item(alice, 'Who reviews').getByRole('button', { name: '1 reply' })
    await count.waitFor()
    await shows(alice, ['alice: Who reviews #42?', 'alice: Lunch at noon', 'bob: I will, after lunch'])
    assert.match(await item(alice, 'I will').innerText(), /replying to alice/)
    await count.click()
    await threadShows(alice, 'alice: Who reviews #42?', ['bob: I will, after lunch'])
    await threadPanel(alice).getByRole('textbox', { name: 'Reply' }).fill('Thanks!')
    await threadPanel(alice).getByRole('button', { name: 'Send reply' }).click()
    await carol.reply('lobby', 1, 'I can pair')
    const replies = ['bob: I will, after lunch', 'alice: Thanks!', 'carol: I can pair']
    await threadShows(alice, 'alice: Who reviews #42?', replies)
    await threadShows(bob, 'alice: Who reviews #42?', replies)
    await threadPanel(bob).getByText('3 replies').waitFor()
    await item(bob, 'Who reviews').getByRole('button', { name: '3 replies' }).waitFor()
    assert.equal(await item(bob, 'Lunch at noon').getByRole('button', { name: /repl(y|ies)$/ }).count(), 0, 'no count on a message without replies')
    await assertAccessible(t, alice, 'thread open')
    await screenshot(t, alice, 'desktop-thread')

    // Escape closes the panel and puts the focus back on what opened it.
    await threadPanel(alice).getByRole('textbox', { name: 'Reply' }).focus()
    await alice.keyboard.press('Escape')
    await threadPanel(alice).waitFor({ state: 'hidden' })
    assert.equal(await focused(alice), '3 replies')
    await bob.getByRole('button', { name: 'Close thread' }).click()
    await threadPanel(bob).waitFor({ state: 'hidden' })

    const stored = await http(server.url, 'GET', '/rooms/lobby/messages?thread=1')
    assert.deepEqual(stored.body.messages.map((m: { user: string, text: string, replyTo: number }) => `${m.user}: ${m.text} (${m.replyTo})`),
      ['bob: I will, after lunch (1)', 'alice: Thanks! (1)', 'carol: I can pair (1)'], 'each reply stored once, in the thread')
  })

  await t.test('a long thread pages its older replies, and opens from a reply whose root the room\'s list does not hold', async (t) => {
    const server = await startServer(t)
    assert.equal((await http(server.url, 'POST', '/rooms', { id: 'support' })).status, 201)
    assert.equal((await http(server.url, 'POST', '/rooms/support/messages', { text: 'The app crashes on start', user: 'dana' })).status, 201)
    for (let i = 1; i <= 55; i++) {
      assert.equal((await http(server.url, 'POST', '/rooms/support/messages', { text: `step ${i}`, user: 'eve', replyTo: 1 })).status, 201)
    }
    const page = await signIn(t, browser, server.url, 'frank', 'support', PHONE)
    // The room's list holds the newest 50 messages: replies only, without their root.
    assert.match(await item(page, 'step 55').innerText(), /in a thread/)
    await item(page, 'step 55').getByRole('button', { name: 'Reply', exact: true }).click()
    const steps = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `eve: step ${from + i}`)
    await threadShows(page, 'dana: The app crashes on start', steps(6, 55))
    await threadPanel(page).getByRole('button', { name: 'Load older replies' }).click()
    await threadShows(page, 'dana: The app crashes on start', steps(1, 55))
    await threadPanel(page).getByRole('button', { name: 'Load older replies' }).waitFor({ state: 'hidden' })
    await screenshot(t, page, 'phone-thread')
    await page.getByRole('button', { name: 'Close thread' }).click()
    // Once the root is loaded in the room's list, its replies there name its author.
    await page.getByRole('button', { name: 'Load older messages' }).click()
    await item(page, 'The app crashes').getByRole('button', { name: '55 replies' }).waitFor()
    assert.match(await item(page, 'step 55').innerText(), /replying to dana/)
  })

  await t.test('mentions: the user\'s own are highlighted, and the room list counts the unread ones', async (t) => {
    const server = await startServer(t)
    const alice = await signIn(t, browser, server.url, 'alice', 'lobby', DESKTOP)
    await alice.getByRole('textbox', { name: 'Room' }).fill('dev')
    await alice.getByRole('button', { name: 'Join', exact: true }).click()
    await alice.getByRole('heading', { name: 'dev', exact: true }).waitFor()
    await alice.getByRole('button', { name: 'lobby', exact: true }).click()
    await alice.getByRole('heading', { name: 'lobby', exact: true }).waitFor()
    const bob = client(t, { url: server.wsUrl, user: 'bob' })
    await bob.connect()
    await bob.join('lobby')
    await bob.join('dev')

    await bob.send('lobby', '@alice can you look at the build? cc @carol')
    await shows(alice, ['bob: @alice can you look at the build? cc @carol'])
    const message = item(alice, 'look at the build')
    assert.deepEqual(await message.locator('mark').allTextContents(), ['@alice'], 'the user\'s own mention is marked')
    assert.deepEqual(await message.locator('.mention:not(mark)').allTextContents(), ['@carol'], 'another\'s is styled, not marked')
    const colours = await message.locator('.mention').evaluateAll((nodes) => nodes.map((node) => getComputedStyle(node).backgroundColor))
    assert.notEqual(colours[0], colours[1], 'the user\'s own mention stands out from others')

    const broken = await bob.send('dev', 'the build is red, @alice')
    await bob.send('dev', 'and @alice: it is the flaky test again')
    await bob.send('dev', 'nothing for alice here')
    await alice.getByRole('button', { name: 'dev, 3 unread, 2 mentions', exact: true }).waitFor()
    await assertAccessible(t, alice, 'mentions')
    await screenshot(t, alice, 'desktop-mentions')
    // An edit that drops the mention drops it from the count.
    await bob.edit('dev', broken.seq, 'the build is red')
    await alice.getByRole('button', { name: 'dev, 3 unread, 1 mention', exact: true }).waitFor()
    await eventually(async () => {
      const { body } = await http(server.url, 'GET', '/users/alice/unread')
      return body.rooms.find((room: { room: string }) => room.room === 'dev')?.mentions === 1
    }, WAIT, 'the server counts one mention too')

    await alice.getByRole('button', { name: 'dev, 3 unread, 1 mention', exact: true }).click()
    await alice.getByRole('button', { name: 'dev', exact: true }).waitFor()
    assert.equal(await item(alice, 'flaky test').locator('mark').textContent(), '@alice')
  })
})
