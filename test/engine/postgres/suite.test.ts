import assert from 'node:assert/strict'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { ROOT } from '../../helper.ts'
import { startPostgres } from '../../postgres-helper.ts'
import { runSuite } from '../../suite-runner.ts'

/**
 * The suite's tests written for the default engine, on PostgreSQL: every server they start
 * without an engine of their own runs on a new PostgreSQL database (test/helper.ts,
 * CHAT_TEST_ENGINE). The tests written for every engine run on PostgreSQL alone and with Redis
 * where they are (test/engines.ts); these are the rest of what reaches storage: REST, the
 * protocol end to end, exactly-once, recovery, the SDK, admin security, metrics and the pages.
 * (The hub's units, the frame parsers and the rate limits touch no storage.)
 */
const PLACES = [
  'test/routes', 'test/client', 'test/security/admin.test.ts', 'test/plugins/metrics.test.ts', 'test/web/chat-page.test.ts', 'test/web/admin-page.test.ts'
]

/** The test files at a place: the file, or every test file in the folder (not below). */
const testFiles = (place: string) => statSync(join(ROOT, place)).isFile()
  ? [place]
  : readdirSync(join(ROOT, place)).filter((name) => name.endsWith('.test.ts')).sort().map((name) => `${place}/${name}`)

test('the default engine\'s tests pass on PostgreSQL', { timeout: 1_500_000 }, async (t) => {
  // Checked here so that a missing PostgreSQL skips or fails this test as it does the others.
  if (await startPostgres(t) === undefined) return
  const run = await runSuite(PLACES.flatMap(testFiles), { CHAT_TEST_ENGINE: 'postgres' })
  assert.deepEqual(run.failures, [], 'every test passes on PostgreSQL')
  assert.equal(run.code, 0)
  assert.equal(run.count('fail'), 0)
  assert.equal(run.count('cancelled'), 0)
  assert.ok(run.count('pass') >= 200, `${run.count('pass')} tests passed on PostgreSQL`)
})
