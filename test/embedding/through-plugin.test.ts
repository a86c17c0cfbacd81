import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { ROOT } from '../helper.ts'

/**
 * A representative part of the suite, on every engine, as its tests are written: REST, the
 * WebSocket protocol and exactly-once sending, recovery, the SDK, features, webhooks, admin
 * security, metrics, the documents, and the chat page in a browser.
 */
const FILES = [
  'test/routes/rooms.test.ts',
  'test/routes/asyncapi.test.ts',
  'test/routes/ws-exactly-once.test.ts',
  'test/routes/ws-recovery.test.ts',
  'test/client/chat-client.test.ts',
  'test/client/chat-semantics.test.ts',
  'test/features/reactions/reactions.test.ts',
  'test/features/moderation/moderation.test.ts',
  'test/features/slow-mode/slow-mode.test.ts',
  'test/features/read-state/read-state.test.ts',
  'test/webhooks/events.test.ts',
  'test/security/admin.test.ts',
  'test/plugins/metrics.test.ts',
  'test/web/chat-page.test.ts'
]

test('a part of the suite passes with the service mounted by its plugin under /chat in another app', { timeout: 900_000 }, async () => {
  // test/helper.ts's startServer mounts the plugin when CHAT_TEST_PREFIX is set; the REQUIRE_*
  // variables go along, so a missing component fails there as it does here.
  // A runner of its own, not a child of this one (which NODE_TEST_CONTEXT would make it).
  const env: NodeJS.ProcessEnv = { ...process.env, CHAT_TEST_PREFIX: '/chat' }
  delete env.NODE_TEST_CONTEXT
  const child = spawn(process.execPath, ['--test-concurrency=1', '--test-timeout=300000', '--test-force-exit', '--import', 'tsx', '--test', ...FILES], {
    cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output)?.[1] ?? NaN)
  const failures = output.split('\n').filter((line) => /^not ok /.test(line))
  assert.deepEqual(failures, [], 'every test passes through the plugin')
  assert.equal(code, 0)
  assert.equal(count('fail'), 0)
  assert.equal(count('cancelled'), 0)
  assert.ok(count('pass') >= 150, `${count('pass')} tests passed through the plugin`)
})
