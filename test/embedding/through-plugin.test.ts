import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runSuite } from '../suite-runner.ts'

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
  // test/helper.ts's startServer mounts the plugin when CHAT_TEST_PREFIX is set.
  const run = await runSuite(FILES, { CHAT_TEST_PREFIX: '/chat' })
  assert.deepEqual(run.failures, [], 'every test passes through the plugin')
  assert.equal(run.code, 0)
  assert.equal(run.count('fail'), 0)
  assert.equal(run.count('cancelled'), 0)
  assert.ok(run.count('pass') >= 150, `${run.count('pass')} tests passed through the plugin`)
})
