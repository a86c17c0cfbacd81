import assert from 'node:assert/strict'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import type { TestContext } from 'node:test'
import { type Browser, chromium, type Page } from 'playwright-core'
import { buildPages } from '../src/web/build.ts'

/** Upper bound for every single wait on the browser. */
export const WAIT = 10_000

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]

/** The system's Chromium (Debian's `chromium` package), looked up on PATH. */
function findChromium (): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const candidate = join(dir, name)
      try {
        accessSync(candidate, constants.X_OK)
        return candidate
      } catch {}
    }
  }
  return undefined
}

/**
 * Chromium for the test, closed when it ends; undefined (and the test skipped) when it is
 * not installed, unless REQUIRE_BROWSER=1 makes that a failure.
 */
export async function launchBrowser (t: TestContext): Promise<Browser | undefined> {
  const executablePath = findChromium()
  if (executablePath === undefined) {
    const hint = 'no chromium on PATH (install it with: apt-get install -y chromium)'
    if (process.env.REQUIRE_BROWSER === '1') assert.fail(`REQUIRE_BROWSER=1 but ${hint}`)
    t.skip(`${hint}; set REQUIRE_BROWSER=1 to make this a failure`)
    return undefined
  }
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 30_000 })
  t.after(() => browser.close())
  return browser
}

/** A page in a fresh browser context, closed when the test ends. */
export async function newPage (t: TestContext, browser: Browser, viewport?: { width: number, height: number }): Promise<Page> {
  const context = await browser.newContext(viewport === undefined ? {} : { viewport })
  t.after(() => context.close())
  context.setDefaultTimeout(WAIT)
  return context.newPage()
}

let built: Promise<unknown> | undefined

/** Bundles the web pages into dist/public once per test process, as `npm run build:web` does. */
export function buildPagesOnce (): Promise<unknown> {
  built ??= buildPages()
  return built
}
