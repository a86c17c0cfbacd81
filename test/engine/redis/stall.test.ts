import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connectAs, eventually, type Frame, http, startServer } from '../../helper.ts'
import { startRedis } from '../../redis-helper.ts'

test('a send while Redis is frozen is answered within 10 s with an error that says it may have been stored; its resend with the same clientId stores it once', { timeout: 60_000 }, async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const server = await startServer(t, { REDIS_URL: redis.url })
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  await alice.request({ type: 'message', room: 'lobby', text: 'before', clientId: 'c-before' })
  t.after(() => { redis.process.kill('SIGCONT') })

  redis.process.kill('SIGSTOP')
  const started = Date.now()
  const answer = await alice.request({ type: 'message', room: 'lobby', text: 'while frozen', clientId: 'c-frozen' }, 15_000)
  const waitedMs = Date.now() - started
  assert.equal(answer.type, 'error')
  assert.equal(answer.code, 'internal')
  assert.match(answer.message, /may have been stored/)
  assert.match(answer.message, /same clientId/)
  assert.ok(waitedMs <= 10_000, `answered after ${waitedMs} ms`)
  assert.equal((await http(server.url, 'GET', '/readyz')).status, 503, 'not ready while Redis does not answer')

  redis.process.kill('SIGCONT')
  const resumed = Date.now()
  await eventually(async () => (await http(server.url, 'GET', '/readyz')).status === 200, 10_000, 'ready again')
  assert.ok(Date.now() - resumed <= 5000, `ready ${Date.now() - resumed} ms after Redis came back`)
  // The client believes the error and sends again, with the same clientId: stored once.
  const again = await alice.request({ type: 'message', room: 'lobby', text: 'while frozen', clientId: 'c-frozen' }, 10_000)
  assert.equal(again.type, 'ack')
  const stored = (await http(server.url, 'GET', '/rooms/lobby/messages')).body.messages as Frame[]
  assert.deepEqual(stored.map((m) => m.text), ['before', 'while frozen'], 'once, whether the frozen command ran or not')
  t.diagnostic(`answered after ${waitedMs} ms; the resend was ${again.duplicate === true ? 'a duplicate: the frozen command had run' : 'stored then'}`)
})
