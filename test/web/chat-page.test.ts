import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { buildPagesOnce, launchBrowser, newPage, WAIT } from '../browser-helper.ts'
import { client } from '../client/client-helper.ts'
import { eventually, freePort, http, spawnServer, startServer, tempDir } from '../helper.ts'
import { signHs256 } from '../security/jwt.ts'
import { DESKTOP, item, PHONE, say, screenshot, shows, signIn, status } from './chat-page-helper.ts'

/** The line that says who is typing (empty when nobody is). */
function typingLine (page: Page): Promise<string> {
  return page.locator('#typing').innerText()
}

async function typingShows (page: Page, expected: string): Promise<void> {
  await eventually(async () => (await typingLine(page)) === expected, WAIT, `typing line "${expected}"`).catch(async (err: Error) => {
    assert.fail(`${err.message}; it shows "${await typingLine(page)}"`)
  })
}

async function online (page: Page): Promise<string[]> {
  const names = await page.getByRole('list', { name: 'Online' }).getByRole('listitem').allTextContents()
  return names.map((name) => name.replace(/\s*\(you\)$/, '')).sort()
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

  await t.test('who is typing, and edits and deletes of your own messages, reach the other page', async (t) => {
    const server = await startServer(t)
    const alice = await signIn(t, browser, server.url, 'alice', 'lobby')
    const bob = await signIn(t, browser, server.url, 'bob', 'lobby', PHONE)
    const carol = client(t, { url: server.wsUrl, user: 'carol' })
    await carol.connect()
    await carol.join('lobby')

    // bob types: alice sees it, bob does not see himself.
    await bob.getByRole('textbox', { name: 'Message', exact: true }).focus()
    await bob.keyboard.type('Morning! Coff')
    await typingShows(alice, 'bob is typing…')
    assert.equal(await typingLine(bob), '', 'one\'s own typing is not shown')
    await carol.typing('lobby')
    await typingShows(alice, 'bob and carol are typing…')
    await typingShows(bob, 'carol is typing…')
    await screenshot(t, alice, 'desktop-typing')
    await screenshot(t, bob, 'phone-typing')
    await carol.typing('lobby', false)
    await typingShows(bob, '')
    await bob.keyboard.type('ee anyone?')
    await typingShows(alice, 'bob is typing…')
    await bob.keyboard.press('Enter')
    await typingShows(alice, '')
    await shows(alice, ['bob: Morning! Coffee anyone?'])

    // Emptying the field stops typing too.
    const field = alice.getByRole('textbox', { name: 'Message', exact: true })
    await field.focus()
    await alice.keyboard.type('Yes')
    await typingShows(bob, 'alice is typing…')
    for (let i = 0; i < 3; i++) await alice.keyboard.press('Backspace')
    await typingShows(bob, '')

    await say(alice, 'Yes pleese, with milk')
    await say(alice, 'Wrong room, sorry')
    const before = ['bob: Morning! Coffee anyone?', 'alice: Yes pleese, with milk', 'alice: Wrong room, sorry']
    await shows(bob, before)

    // Only one's own messages can be edited and deleted; anyone's can be replied to and reacted to.
    const controls = (page: Page, text: string) => item(page, text).getByRole('button').allTextContents()
    assert.deepEqual(await controls(bob, 'Yes pleese'), ['Reply', 'Add reaction', 'Report'], 'no Edit or Delete on someone else\'s message, but Report')
    assert.deepEqual(await controls(bob, 'Coffee anyone'), ['Reply', 'Add reaction', 'Edit', 'Delete'])
    assert.deepEqual(await controls(alice, 'Yes pleese'), ['Reply', 'Add reaction', 'Edit', 'Delete'])

    // Edit by keyboard: Edit opens a field holding the text; Escape cancels, Enter saves.
    await item(alice, 'Yes pleese').getByRole('button', { name: 'Edit' }).focus()
    await alice.keyboard.press('Enter')
    const editor = alice.getByRole('textbox', { name: 'Edited text' })
    assert.equal(await editor.inputValue(), 'Yes pleese, with milk')
    await alice.keyboard.press('Escape')
    await editor.waitFor({ state: 'detached' })
    assert.equal(await alice.evaluate(() => document.activeElement?.textContent), 'Edit', 'focus back on Edit')
    await alice.keyboard.press('Enter')
    await editor.fill('Yes please, with milk')
    await editor.press('Enter')
    const edited = ['bob: Morning! Coffee anyone?', 'alice: Yes please, with milk', 'alice: Wrong room, sorry']
    await shows(bob, edited)
    await shows(alice, edited)
    await item(bob, 'Yes please').getByText('edited').waitFor()

    // Delete asks first; the tombstone keeps its place and has no controls.
    await item(alice, 'Wrong room').getByRole('button', { name: 'Delete' }).click()
    await item(alice, 'Wrong room').getByRole('button', { name: 'Cancel' }).click()
    await item(alice, 'Wrong room').getByRole('button', { name: 'Delete' }).click()
    await item(alice, 'Wrong room').getByRole('button', { name: 'Delete' }).click()
    const deleted = ['bob: Morning! Coffee anyone?', 'alice: Yes please, with milk', 'alice: message deleted']
    await shows(bob, deleted)
    await shows(alice, deleted)
    assert.equal(await item(alice, 'message deleted').getByRole('button').count(), 0)

    // The README's picture: an edit, a tombstone, someone typing and unread messages elsewhere.
    await alice.getByRole('textbox', { name: 'Room' }).fill('releases')
    await alice.getByRole('button', { name: 'Join', exact: true }).click()
    await alice.getByRole('heading', { name: 'releases', exact: true }).waitFor()
    await alice.getByRole('button', { name: 'lobby', exact: true }).click()
    await carol.join('releases')
    await carol.send('releases', 'v2.3 is tagged')
    await carol.send('releases', 'the changelog is up')
    await alice.getByRole('button', { name: 'releases, 2 unread' }).waitFor()
    await carol.typing('lobby')
    await typingShows(alice, 'carol is typing…')
    await screenshot(t, alice, 'desktop-edited')

    // On a phone too: bob opens the editor of his message and saves it as it was (no edit).
    await item(bob, 'Coffee anyone').getByRole('button', { name: 'Edit' }).click()
    const phoneEditor = bob.getByRole('textbox', { name: 'Edited text' })
    await phoneEditor.waitFor()
    await screenshot(t, bob, 'phone-editing')
    await phoneEditor.press('Enter')
    await phoneEditor.waitFor({ state: 'detached' })
    await item(bob, 'Coffee anyone').getByRole('button', { name: 'Edit' }).waitFor()
    await screenshot(t, bob, 'phone-edited')

    const stored = await http(server.url, 'GET', '/rooms/lobby/messages')
    assert.deepEqual(stored.body.messages.map((m: { text: string, version?: number, deleted?: boolean }) => [m.text, m.version ?? 1, m.deleted ?? false]),
      [['Morning! Coffee anyone?', 1, false], ['Yes please, with milk', 2, false], ['', 1, true]])
  })

  await t.test('unread counts for the rooms not looked at, cleared when the room is viewed', async (t) => {
    const server = await startServer(t)
    const alice = await signIn(t, browser, server.url, 'alice', 'lobby')
    await alice.getByRole('textbox', { name: 'Room' }).fill('dev')
    await alice.getByRole('button', { name: 'Join', exact: true }).click()
    await alice.getByRole('heading', { name: 'dev', exact: true }).waitFor()
    await alice.getByRole('button', { name: 'lobby', exact: true }).click()
    await alice.getByRole('heading', { name: 'lobby', exact: true }).waitFor()

    const bob = client(t, { url: server.wsUrl, user: 'bob' })
    await bob.connect()
    await bob.join('dev')
    await bob.join('lobby')
    for (const text of ['the build is red', 'it was a flaky test', 'green again']) await bob.send('dev', text)
    await bob.send('lobby', 'lunch?')
    // lobby is in view: bob's message there is read at once; dev is not.
    await alice.getByRole('button', { name: 'dev, 3 unread' }).waitFor()
    await shows(alice, ['bob: lunch?'])
    assert.equal(await alice.getByRole('button', { name: 'lobby', exact: true }).count(), 1, 'no count on the room in view')
    assert.equal(await alice.title(), '(3) lobby · Chat')
    await eventually(async () => {
      const { body } = await http(server.url, 'GET', '/users/alice/unread')
      return JSON.stringify(body.rooms) === JSON.stringify([
        { room: 'dev', seq: 3, readSeq: 0, unread: 3, mentions: 0 }, { room: 'lobby', seq: 1, readSeq: 1, unread: 0, mentions: 0 }])
    }, WAIT, 'the server agrees: lobby read, dev not')
    await screenshot(t, alice, 'desktop-unread')
    await alice.setViewportSize(PHONE)
    await screenshot(t, alice, 'phone-unread')
    await alice.setViewportSize(DESKTOP)

    await alice.getByRole('button', { name: 'dev, 3 unread' }).click()
    await shows(alice, ['bob: the build is red', 'bob: it was a flaky test', 'bob: green again'])
    await alice.getByRole('button', { name: 'dev', exact: true }).waitFor()
    await eventually(async () => {
      const { body } = await http(server.url, 'GET', '/users/alice/unread')
      return body.rooms.every((room: { unread: number }) => room.unread === 0)
    }, WAIT, 'the server has dev read')

    // Read on another device: the count there goes too.
    await bob.send('lobby', 'anyone?')
    await alice.getByRole('button', { name: 'lobby, 1 unread' }).waitFor()
    const phone = client(t, { url: server.wsUrl, user: 'alice' })
    await phone.connect()
    await phone.join('lobby')
    await phone.read('lobby', 2)
    await alice.getByRole('button', { name: 'lobby', exact: true }).waitFor()
    assert.equal(await alice.title(), 'dev · Chat')
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

    // Signing out with a send still waiting (a bad token: never connected) leaves nothing of
    // it to the next session: not its text, not a notice, not a count.
    await page.getByRole('button', { name: 'Sign out' }).click()
    await token.fill('not-a-valid-token')
    await page.getByRole('button', { name: 'Connect' }).click()
    await status(page, 'cannot connect')
    await page.getByRole('textbox', { name: 'Room' }).fill('lobby')
    await page.getByRole('button', { name: 'Join' }).click()
    await say(page, 'never sent')
    await status(page, '1 waiting to be sent')
    await page.getByRole('button', { name: 'Sign out' }).click()
    await token.fill(signHs256({ sub: 'erin' }, secret))
    await page.getByRole('button', { name: 'Connect' }).click()
    await status(page, 'Connected as erin')
    await page.getByRole('textbox', { name: 'Room' }).fill('lobby')
    await page.getByRole('button', { name: 'Join' }).click()
    await shows(page, ['dana: signed in with a token'])
    assert.equal(await page.getByRole('textbox', { name: 'Message', exact: true }).inputValue(), '', 'no text of the last session')
    assert.equal(await page.locator('#notice').textContent(), '', 'no notice of the last session')
  })
})
