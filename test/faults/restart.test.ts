import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { eventually, http, startServer } from '../helper.ts'
import { startDurableRedis } from '../redis-faults.ts'
import { assertContiguous, deliveryReport, startMember, startSender } from '../traffic.ts'

test('single Redis with appendfsync always, killed and restarted while two nodes send: /readyz 503 while it is gone and 200 within 5 s of its return, no acknowledged message lost, nothing stored twice', { timeout: 120_000 }, async (t) => {
  const redis = await startDurableRedis(t)
  if (redis === undefined) return
  const config = { REDIS_URL: `redis://127.0.0.1:${redis.port}`, CHAT_MSG_RATE: 1000 }
  const a = await startServer(t, config)
  const b = await startServer(t, config)
  const members = [await startMember(t, a, 'ann', 'north'), await startMember(t, b, 'bea', 'north')]
  const senders = [await startSender(t, a, 'alice', 'north'), await startSender(t, b, 'bob', 'north')]
  await eventually(() => senders.every((sender) => sender.acked.size >= 50), 20_000, 'traffic before the fault')

  await redis.kill()
  const killedAt = Date.now()
  await eventually(async () => (await http(a.url, 'GET', '/readyz')).status === 503, 10_000, 'not ready while Redis is gone')
  assert.equal((await http(b.url, 'GET', '/readyz')).status, 503)
  await sleep(1000)
  await redis.start()
  const back = Date.now()
  await eventually(async () => (await http(a.url, 'GET', '/readyz')).status === 200 && (await http(b.url, 'GET', '/readyz')).status === 200, 10_000, 'ready again')
  const readyAfterMs = Date.now() - back
  assert.ok(readyAfterMs <= 5000, `ready ${readyAfterMs} ms after Redis came back`)

  const counts = senders.map((sender) => sender.acked.size)
  await eventually(() => senders.every((sender, i) => sender.acked.size >= counts[i]! + 30), 20_000, 'traffic after the restart')
  await Promise.all(senders.map((sender) => sender.stop()))
  for (const sender of senders) assert.equal(sender.unanswered, 0, 'every send is answered')
  const report = await deliveryReport(a, 'north', senders)
  assert.deepEqual(report.lost, [], 'no acknowledged message lost')
  assert.deepEqual(report.storedTwice, [], 'nothing stored twice')
  assert.deepEqual(report.seqsGivenTwice, [], 'no seq given twice')
  assert.equal(report.stored, report.acked)
  for (const member of members) await assertContiguous(member, report.stored)
  t.diagnostic(`ready ${readyAfterMs} ms after Redis was back (down ${back - killedAt} ms); ${report.acked} acknowledged, ` +
    `${senders.reduce((sum, s) => sum + s.errors, 0)} errors answered by a resend`)
})

test('single Redis frozen for 12 s while two nodes send: every send is answered within 10 s, /readyz 503 while frozen and 200 within 5 s after, nothing lost or stored twice', { timeout: 120_000 }, async (t) => {
  const redis = await startDurableRedis(t)
  if (redis === undefined) return
  const config = { REDIS_URL: `redis://127.0.0.1:${redis.port}`, CHAT_MSG_RATE: 1000 }
  const a = await startServer(t, config)
  const b = await startServer(t, config)
  const members = [await startMember(t, a, 'ann', 'north'), await startMember(t, b, 'bea', 'north')]
  const senders = [await startSender(t, a, 'alice', 'north'), await startSender(t, b, 'bob', 'north')]
  await eventually(() => senders.every((sender) => sender.acked.size >= 50), 20_000, 'traffic before the fault')
  t.after(() => redis.thaw())

  redis.freeze()
  await eventually(async () => (await http(a.url, 'GET', '/readyz')).status === 503, 10_000, 'not ready while Redis is frozen')
  await sleep(12_000 - 2000)
  const errorsWhileFrozen = senders.reduce((sum, s) => sum + s.errors, 0)
  redis.thaw()
  const back = Date.now()
  await eventually(async () => (await http(a.url, 'GET', '/readyz')).status === 200 && (await http(b.url, 'GET', '/readyz')).status === 200, 10_000, 'ready again')
  const readyAfterMs = Date.now() - back
  assert.ok(readyAfterMs <= 5000, `ready ${readyAfterMs} ms after Redis resumed`)

  const counts = senders.map((sender) => sender.acked.size)
  await eventually(() => senders.every((sender, i) => sender.acked.size >= counts[i]! + 30), 20_000, 'traffic after the stall')
  await Promise.all(senders.map((sender) => sender.stop()))
  for (const sender of senders) {
    assert.equal(sender.unanswered, 0, 'every send is answered')
    assert.ok(sender.longestWaitMs <= 10_000, `a send waited ${sender.longestWaitMs} ms`)
  }
  assert.ok(errorsWhileFrozen >= 2, 'sends during the stall were answered with errors')
  const report = await deliveryReport(a, 'north', senders)
  assert.deepEqual(report.lost, [])
  assert.deepEqual(report.storedTwice, [], 'a resend after "may have been stored" is stored once')
  assert.deepEqual(report.seqsGivenTwice, [])
  assert.equal(report.stored, report.acked)
  for (const member of members) await assertContiguous(member, report.stored)
  t.diagnostic(`longest wait for an answer ${Math.max(...senders.map((s) => s.longestWaitMs))} ms; ready ${readyAfterMs} ms after Redis resumed; ` +
    `${report.acked} acknowledged, ${senders.reduce((sum, s) => sum + s.errors, 0)} errors answered by a resend`)
})
