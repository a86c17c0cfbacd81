import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { ROOT } from '../../helper.ts'
import { startPostgres } from '../../postgres-helper.ts'

/**
 * The suite's tests written for the default engine, on PostgreSQL: every server they start
 * without an engine of their own runs on a new PostgreSQL database (test/helper.ts,
 * CHAT_TEST_ENGINE). The tests written for every engine run on PostgreSQL alone and with Redis
 * where they are (test/engines.ts); these are the rest of what reaches storage: REST, the
 * protocol end to end, exactly-once, recovery, the SDK, admin security, metrics and the pages.
 * (The hub's units, the frame parsers and the rate limits touch no storage.)
 */
const FILES = [
  'test/routes', 'test/client', 'test/security/admin.test.ts', 'test/plugins/metrics.test.ts', 'test/web/chat-page.test.ts', 'test/web/admin-page.test.ts'
]

test('the default engine\'s tests pass on PostgreSQL', { timeout: 1_500_000 }, async (t) => {
  // Checked here so that a missing PostgreSQL skips or fails this test as it does the others.
  if (await startPostgres(t) === undefined) return
  const env: NodeJS.ProcessEnv = { ...process.env, CHAT_TEST_ENGINE: 'postgres' }
  // A runner of its own, not a child of this one (which NODE_TEST_CONTEXT would make it).
  delete env.NODE_TEST_CONTEXT
  const files = spawn('sh', ['-c', `find ${FILES.join(' ')} -name '*.test.ts' | sort`], { cwd: ROOT })
  let list = ''
  files.stdout.on('data', (chunk: Buffer) => { list += chunk.toString() })
  await new Promise((resolve) => files.once('exit', resolve))
  const child = spawn(process.execPath, ['--test-concurrency=1', '--test-timeout=300000', '--test-force-exit', '--import', 'tsx', '--test', ...list.trim().split('\n')], {
    cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output)?.[1] ?? NaN)
  const failures = output.split('\n').filter((line) => /^\s*not ok /.test(line))
  assert.deepEqual(failures, [], 'every test passes on PostgreSQL')
  assert.equal(code, 0)
  assert.equal(count('fail'), 0)
  assert.equal(count('cancelled'), 0)
  assert.ok(count('pass') >= 250, `${count('pass')} tests passed on PostgreSQL`)
})
