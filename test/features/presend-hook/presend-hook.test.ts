import assert from 'node:assert/strict'
import { test } from 'node:test'
import { engineTest } from '../../engines.ts'
import { connectAs, type Frame, http, startServer } from '../../helper.ts'
import { SECRET } from '../../webhooks/receiver.ts'
import { type HookReceiver, startHookReceiver } from './hook-receiver.ts'

const hookConfig = (hook: HookReceiver, extra: Record<string, string | number> = {}) =>
  ({ CHAT_PRESEND_URL: hook.url, CHAT_WEBHOOK_SECRET: SECRET, ...extra })

/** Decides by the text: `bad …` is rejected, `rude …` replaced, anything else allowed. */
function moderate (hook: HookReceiver): void {
  hook.answer = ({ text }) => text.startsWith('bad')
    ? { json: { action: 'reject', reason: 'no bad words here' } }
    : text.startsWith('rude')
      ? { json: { action: 'replace', text: 'be kind @carol' } }
      : { json: { action: 'allow' } }
}

engineTest('the pre-send hook gets each message and edit, signed, and its answer decides: allow, replace (mentions follow), reject with its reason', async (start, t) => {
  const hook = await startHookReceiver(t)
  moderate(hook)
  const server = await start(hookConfig(hook))
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  const allowed = await alice.request({ type: 'message', room: 'lobby', text: 'hello @bob' })
  assert.equal(allowed.type, 'ack')
  assert.deepEqual((await bob.next('message')).mentions, ['bob'])
  const rejected = await alice.request({ type: 'message', room: 'lobby', text: 'bad thing' })
  assert.deepEqual([rejected.type, rejected.code, rejected.message], ['error', 'forbidden', 'no bad words here'])
  await alice.request({ type: 'message', room: 'lobby', text: 'rude @bob' })
  const replaced = await bob.next('message')
  assert.equal(replaced.text, 'be kind @carol')
  assert.deepEqual(replaced.mentions, ['carol'], 'fields derived from the text are those of the replacement')
  const reply = await alice.request({ type: 'message', room: 'lobby', text: 'a reply', replyTo: allowed.seq })
  assert.equal(reply.type, 'ack')
  const edit = await alice.request({ type: 'edit', room: 'lobby', seq: allowed.seq, text: 'rude edit' })
  assert.equal(edit.type, 'ack')
  // (The reply brought an `updated` of its root's thread first.)
  assert.equal((await bob.next((frame) => frame.type === 'updated' && frame.message.editedAt !== undefined)).message.text, 'be kind @carol')
  const refusedEdit = await alice.request({ type: 'edit', room: 'lobby', seq: allowed.seq, text: 'bad edit' })
  assert.equal(refusedEdit.code, 'forbidden')
  const posted = await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'bad post', user: 'ops' })
  assert.equal(posted.status, 403)

  assert.deepEqual(hook.requests.map((request) => request.text), ['hello @bob', 'bad thing', 'rude @bob', 'a reply', 'rude edit', 'bad edit', 'bad post'])
  assert.equal(hook.requests[3]!.replyTo, allowed.seq)
  assert.equal(hook.requests[4]!.edit, allowed.seq)
  assert.deepEqual(hook.requests[0], { room: 'lobby', user: 'alice', text: 'hello @bob' })
  const history = await http(server.url, 'GET', '/rooms/lobby/messages')
  assert.deepEqual(history.body.messages.map((m: Frame) => m.text), ['be kind @carol', 'be kind @carol', 'a reply'])
})

test('no valid answer in time (a hang, a 500, a body that is not JSON, a replace without text): stored when failing open, refused when closed; counted', async (t) => {
  const hook = await startHookReceiver(t)
  const replies = ['hang', { status: 500 }, 'not-json', { json: { action: 'replace' } }, { json: { action: 'maybe' } }] as const
  let next = 0
  hook.answer = () => replies[next++ % replies.length]!
  const open = await startServer(t, hookConfig(hook, { CHAT_PRESEND_TIMEOUT_MS: 300 }))
  const closed = await startServer(t, hookConfig(hook, { CHAT_PRESEND_TIMEOUT_MS: 300, CHAT_PRESEND_FAIL: 'closed' }))
  for (const [server, fails] of [[open, 'open'], [closed, 'closed']] as const) {
    next = 0
    const alice = await connectAs(t, server, 'alice')
    await alice.join('lobby')
    for (let i = 0; i < replies.length; i++) {
      const answer = await alice.request({ type: 'message', room: 'lobby', text: `try ${i}` })
      if (fails === 'open') assert.equal(answer.type, 'ack', `fail open, reply ${i}`)
      else assert.deepEqual([answer.type, answer.code], ['error', 'forbidden'], `fail closed, reply ${i}`)
    }
    const stored = await http(server.url, 'GET', '/rooms/lobby/messages')
    assert.equal(stored.body.messages.length, fails === 'open' ? replies.length : 0)
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    assert.match(metrics, new RegExp(`chat_presend_checks_total\\{outcome="failed_${fails}"\\} ${replies.length}`))
  }
})

test('a message waiting for a hook that hangs holds neither the other rooms nor other connections; its own room keeps its order', async (t) => {
  const hook = await startHookReceiver(t)
  hook.answer = ({ room }) => room === 'slow' ? 'hang' : { json: { action: 'allow' } }
  const server = await startServer(t, hookConfig(hook, { CHAT_PRESEND_TIMEOUT_MS: 1500 }))
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('slow')
  await alice.join('fast')
  await bob.join('fast')
  const order: string[] = []
  const first = alice.request({ type: 'message', room: 'slow', text: 'slow 1' }).then((ack) => { order.push('slow 1'); return ack })
  const second = alice.request({ type: 'message', room: 'slow', text: 'slow 2' }).then((ack) => { order.push('slow 2'); return ack })
  const mine = await alice.request({ type: 'message', room: 'fast', text: 'fast from alice' })
  order.push('fast from alice')
  const other = await bob.request({ type: 'message', room: 'fast', text: 'fast from bob' })
  order.push('fast from bob')
  assert.equal(mine.type, 'ack')
  assert.equal(other.type, 'ack')
  const [one, two] = await Promise.all([first, second])
  // The hung checks gave up (fail open) and the slow room's messages were stored in the order sent.
  assert.deepEqual(order, ['fast from alice', 'fast from bob', 'slow 1', 'slow 2'])
  assert.ok(one.seq < two.seq, `slow 1 before slow 2: ${one.seq}, ${two.seq}`)
})
