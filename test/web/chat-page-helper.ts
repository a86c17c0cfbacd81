import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import axe from 'axe-core'
import type { Browser, Page } from 'playwright-core'
import { newPage, WAIT } from '../browser-helper.ts'
import { eventually, ROOT } from '../helper.ts'

/* What the chat page's tests share: signing in, writing, and reading the page by role and name. */

export const DESKTOP = { width: 1100, height: 700 }
export const PHONE = { width: 390, height: 760 }

/** Screenshots go here (ignored by git); the path is printed with the test's diagnostics. */
const OUTPUT = join(ROOT, 'test-output', 'chat-page')

export async function screenshot (t: TestContext, page: Page, name: string): Promise<void> {
  mkdirSync(OUTPUT, { recursive: true })
  const path = join(OUTPUT, `${name}.png`)
  await page.screenshot({ path })
  t.diagnostic(`screenshot: ${path}`)
}

/** Opens the page at `/`, signs in by name and joins `room`, using the keyboard only. */
export async function signIn (t: TestContext, browser: Browser, url: string, user: string, room: string, viewport = DESKTOP): Promise<Page> {
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
export async function say (page: Page, text: string): Promise<void> {
  const field = page.getByRole('textbox', { name: 'Message', exact: true })
  await field.fill(text)
  await field.press('Enter')
}

export async function status (page: Page, text: string): Promise<void> {
  await page.getByRole('status').filter({ hasText: text }).waitFor({ timeout: 30_000 })
}

/** The `Messages` list as `user: text` lines, in the order shown. */
export function shown (page: Page): Promise<string[]> {
  return page.getByRole('list', { name: 'Messages', exact: true }).getByRole('listitem').evaluateAll((items) => items.map((item) =>
    `${item.querySelector('.author')?.textContent ?? '?'}: ${item.querySelector('.text')?.textContent ?? '?'}`))
}

/** The list item of the message with this text. */
export function item (page: Page, text: string) {
  return page.getByRole('list', { name: 'Messages', exact: true }).getByRole('listitem').filter({ hasText: text })
}

/** Waits until the page shows exactly `expected` (bounded), then checks it once more. */
export async function shows (page: Page, expected: string[]): Promise<void> {
  await eventually(async () => JSON.stringify(await shown(page)) === JSON.stringify(expected), WAIT,
    `the page to show ${expected.length} messages`).catch(async (err: Error) => {
    assert.fail(`${err.message}; it shows ${JSON.stringify(await shown(page))}`)
  })
  assert.deepEqual(await shown(page), expected)
}

/** Runs axe-core in the page and fails on any serious or critical violation (as the admin page's tests do). */
export async function assertAccessible (t: TestContext, page: Page, state: string): Promise<void> {
  if (!await page.evaluate(() => 'axe' in window)) await page.evaluate(axe.source)
  const results = await page.evaluate(() => (window as unknown as { axe: typeof axe }).axe.run(document, { resultTypes: ['violations'] }))
  const summary = (v: axe.Result) => `${v.impact ?? '?'} ${v.id}: ${v.help} (${v.nodes.map((node) => node.target.join(' ')).join(', ')})`
  for (const violation of results.violations) t.diagnostic(`axe, ${state}: ${summary(violation)}`)
  const bad = results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
  assert.deepEqual(bad.map(summary), [], `no serious or critical accessibility violation (${state})`)
}
