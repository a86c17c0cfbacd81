import assert from 'node:assert/strict'
import { engineTest } from '../../engines.ts'
import { connectAs, type Frame, http } from '../../helper.ts'
import { startReceiver, webhookConfig } from '../../webhooks/receiver.ts'

engineTest('a member reports a message; the queue lists it with the message as it was; dismiss keeps the message, delete deletes it; message.reported goes out', async (start, t) => {
  const receiver = await startReceiver(t)
  const server = await start(webhookConfig([receiver]))
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  const rude = await bob.request({ type: 'message', room: 'lobby', text: 'rude words' })
  const odd = await bob.request({ type: 'message', room: 'lobby', text: 'odd words' })
  const acked = await alice.request({ type: 'report', room: 'lobby', seq: rude.seq, reason: 'insulting' })
  assert.deepEqual([acked.type, acked.room, acked.seq, acked.id], ['ack', 'lobby', rude.seq, rude.id])
  await alice.request({ type: 'report', room: 'lobby', seq: odd.seq })
  await bob.request({ type: 'edit', room: 'lobby', seq: rude.seq, text: 'nice words now' })

  const queue = await http(server.url, 'GET', '/reports')
  assert.equal(queue.status, 200)
  assert.deepEqual(queue.body.reports.map((report: Frame) => [report.room, report.seq, report.reporter, report.reason, report.message.text]),
    [['lobby', rude.seq, 'alice', 'insulting', 'rude words'], ['lobby', odd.seq, 'alice', null, 'odd words']], 'oldest first, the message as reported')
  const [first, second] = queue.body.reports as Frame[]

  assert.equal((await http(server.url, 'POST', `/reports/${first!.id}/resolve`, { action: 'delete' })).status, 204)
  const deleted = await alice.next((frame) => frame.type === 'updated' && frame.message.deleted === true)
  assert.equal(deleted.message.seq, rude.seq)
  assert.equal((await http(server.url, 'POST', `/reports/${second!.id}/resolve`, { action: 'dismiss' })).status, 204)
  assert.deepEqual((await http(server.url, 'GET', '/reports')).body.reports, [])
  const history = await http(server.url, 'GET', '/rooms/lobby/messages')
  assert.deepEqual(history.body.messages.map((m: Frame) => [m.seq, m.deleted === true]), [[rude.seq, true], [odd.seq, false]])

  const events = await receiver.waitFor(2, 'message.reported')
  assert.deepEqual(events.map((event) => event.data), [
    { id: first!.id, seq: rude.seq, reporter: 'alice', reason: 'insulting' },
    { id: second!.id, seq: odd.seq, reporter: 'alice', reason: null }
  ])
})

engineTest('bad reports change nothing: not a member, a message not retained or deleted, an unknown report, a bad action', async (start, t) => {
  const server = await start()
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  const sent = await bob.request({ type: 'message', room: 'lobby', text: 'hi' })
  assert.equal((await alice.request({ type: 'report', room: 'lobby', seq: sent.seq })).code, 'not_member')
  await alice.join('lobby')
  assert.equal((await alice.request({ type: 'report', room: 'lobby', seq: 99 })).code, 'not_found')
  await bob.request({ type: 'delete', room: 'lobby', seq: sent.seq })
  assert.equal((await alice.request({ type: 'report', room: 'lobby', seq: sent.seq })).code, 'not_found')
  assert.equal((await alice.request({ type: 'report', room: 'lobby', seq: -1 })).code, 'bad_request')
  assert.deepEqual((await http(server.url, 'GET', '/reports')).body.reports, [])
  assert.equal((await http(server.url, 'POST', '/reports/nope/resolve', { action: 'dismiss' })).status, 404)
  assert.equal((await http(server.url, 'POST', '/reports/nope/resolve', { action: 'ban' })).status, 400)
})
