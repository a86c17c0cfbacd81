import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import calculateSlot from 'cluster-key-slot'
import { roomKeys } from '../../src/engine/redis/keys.ts'
import { eventually, startServer } from '../helper.ts'
import { replication, startReplicatedCluster } from '../redis-faults.ts'
import { assertContiguous, deliveryReport, startMember, startSender } from '../traffic.ts'

test('Cluster with replicas: the primary of a busy room is killed and comes back as a replica; sends resume within 15 s, with CHAT_REDIS_ACK_REPLICAS=1 nothing acknowledged is lost, no seq is given twice, members\' streams stay whole', { timeout: 180_000 }, async (t) => {
  const cluster = await startReplicatedCluster(t, 3, 1)
  if (cluster === undefined) return
  const config = { ...cluster.config, CHAT_REDIS_ACK_REPLICAS: 1, CHAT_MSG_RATE: 1000 }
  const a = await startServer(t, config)
  const b = await startServer(t, config)
  // Two rooms on the primary that dies, one elsewhere.
  const victim = cluster.ownerOf(calculateSlot(roomKeys('north').room))
  const south = ['south', 'south-2', 'south-3', 'south-4', 'south-5'].find((room) => cluster.ownerOf(calculateSlot(roomKeys(room).room)) !== victim)!
  const rooms = ['north', south]
  const members = [
    await startMember(t, a, 'ann', 'north'), await startMember(t, b, 'bea', 'north'),
    await startMember(t, a, 'cal', south), await startMember(t, b, 'dan', south)
  ]
  const senders = [await startSender(t, a, 'alice', 'north'), await startSender(t, b, 'bob', south)]
  await eventually(() => senders.every((sender) => sender.acked.size >= 50), 20_000, 'traffic before the fault')

  const killedAt = Date.now()
  await victim.kill()
  await eventually(() => cluster.primaries().length === 3 && !cluster.primaries().includes(victim), 30_000, 'a replica takes over')
  const promotedAfterMs = Date.now() - killedAt
  // An operator restarts the dead node: it rejoins as the new primary's replica, so WAIT 1 holds again.
  await sleep(1000)
  await victim.start()
  await eventually(() => replication(victim).role === 'slave' && replication(victim).master_link_status === 'up', 30_000, 'the old primary rejoins as a replica')
  await eventually(() => senders.every((sender) => (sender.firstAckAfter(killedAt) ?? Infinity) < Date.now() - 1000), 30_000, 'sends resume')
  const counts = senders.map((sender) => sender.acked.size)
  await eventually(() => senders.every((sender, i) => sender.acked.size >= counts[i]! + 30), 20_000, 'traffic after the fault')
  await Promise.all(senders.map((sender) => sender.stop()))

  for (const sender of senders) {
    assert.equal(sender.unanswered, 0, 'every send is answered')
    assert.ok(sender.longestStallMs <= 15_000, `sends stalled ${sender.longestStallMs} ms`)
  }
  for (const [i, room] of rooms.entries()) {
    const report = await deliveryReport(a, room, [senders[i]!])
    assert.deepEqual(report.lost, [], `${room}: no acknowledged message lost`)
    assert.deepEqual(report.storedTwice, [], `${room}: nothing stored twice`)
    assert.deepEqual(report.seqsGivenTwice, [], `${room}: no seq given twice`)
    assert.equal(report.stored, report.acked, `${room}: history holds exactly what was acknowledged`)
    for (const member of members.slice(i * 2, i * 2 + 2)) await assertContiguous(member, report.stored)
  }
  t.diagnostic(`a replica took over ${promotedAfterMs} ms after the kill; stalls: north ${senders[0]!.longestStallMs} ms (its primary died), ${south} ${senders[1]!.longestStallMs} ms; ` +
    `${senders.reduce((sum, s) => sum + s.acked.size, 0)} acknowledged, ${senders.reduce((sum, s) => sum + s.errors, 0)} errors answered by a resend`)
})
