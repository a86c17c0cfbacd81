import assert from 'node:assert/strict'
import { test } from 'node:test'
import { connectAs, eventually, http, startServer } from '../helper.ts'
import { replication, startSentinelGroup } from '../redis-faults.ts'
import { assertContiguous, deliveryReport, startMember, startSender } from '../traffic.ts'

/** A counter's value summed over the nodes' /metrics. */
async function metricSum (nodes: { url: string }[], name: string): Promise<number> {
  let sum = 0
  for (const node of nodes) {
    const text = (await http(node.url, 'GET', '/metrics')).text
    for (const line of text.split('\n')) if (line.startsWith(`${name} `)) sum += Number(line.split(' ')[1])
  }
  return sum
}

test('Sentinel: the primary is killed while two nodes send; sends resume within 15 s, with CHAT_REDIS_ACK_REPLICAS=1 no acknowledged message is lost, no seq is given twice, members\' streams stay whole', { timeout: 120_000 }, async (t) => {
  const group = await startSentinelGroup(t, 2)
  if (group === undefined) return
  const config = { ...group.config, CHAT_REDIS_ACK_REPLICAS: 1, CHAT_MSG_RATE: 1000 }
  const a = await startServer(t, config)
  const b = await startServer(t, config)
  const members = [
    await startMember(t, a, 'ann', 'north'), await startMember(t, b, 'bea', 'north'),
    await startMember(t, a, 'cal', 'south'), await startMember(t, b, 'dan', 'south')
  ]
  const senders = [await startSender(t, a, 'alice', 'north'), await startSender(t, b, 'bob', 'south')]
  await eventually(() => senders.every((sender) => sender.acked.size >= 50), 20_000, 'traffic before the fault')

  const killedAt = Date.now()
  await group.primary.kill()
  await eventually(() => group.primaryPort() !== group.primary.port, 30_000, 'the sentinels promote a replica')
  const promotedAfterMs = Date.now() - killedAt
  await eventually(() => senders.every((sender) => (sender.firstAckAfter(killedAt) ?? Infinity) < Date.now() - 1000), 30_000, 'sends resume')
  const counts = senders.map((sender) => sender.acked.size)
  await eventually(() => senders.every((sender, i) => sender.acked.size >= counts[i]! + 30), 20_000, 'traffic after the fault')
  await Promise.all(senders.map((sender) => sender.stop()))

  for (const sender of senders) {
    assert.equal(sender.unanswered, 0, 'every send is answered')
    assert.ok(sender.longestStallMs <= 15_000, `sends stalled ${sender.longestStallMs} ms`)
  }
  for (const [room, sender] of [['north', senders[0]!], ['south', senders[1]!]] as const) {
    const report = await deliveryReport(a, room, [sender])
    assert.deepEqual(report.lost, [], `${room}: no acknowledged message lost`)
    assert.deepEqual(report.storedTwice, [], `${room}: nothing stored twice`)
    assert.deepEqual(report.seqsGivenTwice, [], `${room}: no seq given twice`)
    assert.equal(report.stored, report.acked, `${room}: history holds exactly what was acknowledged`)
    for (const member of members.filter((_m, i) => (i < 2) === (room === 'north'))) await assertContiguous(member, report.stored)
  }
  t.diagnostic(`promoted ${promotedAfterMs} ms after the kill; longest stall ${Math.max(...senders.map((s) => s.longestStallMs))} ms; ` +
    `${senders.reduce((sum, s) => sum + s.acked.size, 0)} acknowledged, ${senders.reduce((sum, s) => sum + s.errors, 0)} errors answered by a resend`)
})

test('Sentinel: a replica that lags is promoted; the room\'s seq goes on past what members saw (no seq given twice), the loss is counted and a replay says it is not whole', { timeout: 120_000 }, async (t) => {
  const group = await startSentinelGroup(t, 1)
  if (group === undefined) return
  const config = { ...group.config, CHAT_MSG_RATE: 1000 }
  const a = await startServer(t, config)
  const b = await startServer(t, config)
  const same = await startMember(t, a, 'ann', 'lag')
  const other = await startMember(t, b, 'bea', 'lag')
  const sender = await startSender(t, a, 'alice', 'lag', { pauseMs: 5 })
  await eventually(() => sender.acked.size >= 20, 20_000, 'traffic before the fault')

  // The replica's link is cut while it is frozen (so that it cannot reconnect; well under the
  // sentinels' 1 s, so that they still count it usable); the primary acknowledges more, then dies.
  const [replica] = group.replicas
  replica!.freeze()
  await group.primary.client().call('client', 'kill', 'type', 'replica')
  const before = sender.acked.size
  await eventually(() => sender.acked.size >= before + 10, 5000, 'acknowledged by the primary alone')
  await group.primary.kill()
  replica!.thaw()
  const killedAt = Date.now()
  await eventually(() => group.primaryPort() === replica!.port, 30_000, 'the sentinels promote the lagging replica')
  await eventually(() => (sender.firstAckAfter(killedAt) ?? Infinity) < Date.now() - 500, 30_000, 'sends resume')
  const resumed = sender.acked.size
  await eventually(() => sender.acked.size >= resumed + 20, 20_000, 'traffic after the fault')
  await sender.stop()

  const report = await deliveryReport(a, 'lag', [sender])
  assert.deepEqual(report.seqsGivenTwice, [], 'no seq given to two messages')
  assert.deepEqual(report.storedTwice, [])
  assert.ok(report.lost.length > 0, 'the promoted replica lacked acknowledged messages (the fault this test makes)')
  const lostSeqs = report.lost.map((clientId) => sender.acked.get(clientId)!)
  const firstAfter = Math.min(...[...sender.acked.values()].filter((seq) => seq > Math.max(...lostSeqs)))
  const lastSeq = Math.max(...sender.acked.values())
  for (const member of [same, other]) {
    await eventually(() => member.seqs().includes(lastSeq), 20_000, `${member.user} receives the last message`)
    const seqs = member.seqs()
    assert.deepEqual(seqs, [...new Set(seqs)].sort((x, y) => x - y), `${member.user}: in order, none twice`)
    assert.ok(seqs.includes(firstAfter), `${member.user} got the first message after the failover (a reused seq would have been dropped as seen)`)
  }
  assert.ok(await metricSum([a, b], 'chat_redis_seq_raises_total') >= 1, 'the raise is counted')
  assert.ok(await metricSum([a, b], 'chat_redis_lost_seqs_total') >= 1, 'the lost messages are counted')

  const late = await connectAs(t, b, 'eve')
  const joined = await late.join('lag', { since: Math.min(...lostSeqs) - 1 })
  assert.equal(joined.recovered, false, 'a replay across the lost messages says it is not whole')
  assert.equal(replication(replica!).role, 'master')
  t.diagnostic(`${report.lost.length} acknowledged messages lost with the lagging replica (CHAT_REDIS_ACK_REPLICAS=0); seqs ${Math.min(...lostSeqs)}–${Math.max(...lostSeqs)} lost, the room went on at ${firstAfter}`)
})
