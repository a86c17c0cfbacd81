import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify from 'fastify'
import chat from '../../src/plugin.ts'
import { buildPagesOnce, launchBrowser, newPage } from '../browser-helper.ts'
import { say, shows, status } from '../web/chat-page-helper.ts'

test('the chat page under an app\'s prefix connects at once as the app\'s signed-in user, with no name or token asked (Chromium)', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t)
  if (browser === undefined) return
  await buildPagesOnce()
  const app = Fastify()
  app.get('/sign-in', async (request, reply) => reply.header('set-cookie', `who=${(request.query as { user: string }).user}; Path=/`).redirect('/chat/'))
  await app.register(chat, {
    prefix: '/chat',
    db: ':memory:',
    authenticate: (request) => {
      const user = /(?:^|;\s*)who=([\w.-]+)/.exec(request.headers.cookie ?? '')?.[1]
      return user === undefined ? undefined : { user }
    }
  })
  t.after(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }

  const page = await newPage(t, browser)
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(`http://127.0.0.1:${port}/sign-in?user=alice`)
  assert.equal(new URL(page.url()).pathname, '/chat/')
  await status(page, 'Connected as alice')
  assert.equal(await page.getByRole('textbox', { name: 'Name' }).isVisible(), false, 'no name asked')
  assert.equal(await page.getByRole('textbox', { name: 'Token' }).isVisible(), false, 'no token asked')
  await page.keyboard.type('lobby')
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { name: 'lobby', exact: true }).waitFor()
  await say(page, 'hello from the app\'s user')
  await shows(page, ['alice: hello from the app\'s user'])
  assert.deepEqual(errors, [])
})
