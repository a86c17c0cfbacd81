import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import calculateSlot from 'cluster-key-slot'
import { partitionOf, roomKeys } from '../../src/engine/redis/keys.ts'
import { eventually, startServer } from '../helper.ts'
import { startReplicatedCluster } from '../redis-faults.ts'
import { assertContiguous, deliveryReport, type Member, type Sender, startMember, startSender } from '../traffic.ts'

const slotOf = (room: string) => calculateSlot(roomKeys(room).room)

test('Cluster: `redis-cli --cluster reshard` moves three busy rooms\' slots while they send; nothing acknowledged is lost or stored twice, sends resume within 5 s, members\' streams stay whole', { timeout: 180_000 }, async (t) => {
  const cluster = await startReplicatedCluster(t, 3, 0)
  if (cluster === undefined) return
  const source = cluster.ownerOf(0)
  const target = cluster.nodes.find((node) => node !== source)!
  // redis-cli takes a source's slots from its lowest up: three rooms in the lowest partitions of the source.
  const lowest = [...new Set(Array.from({ length: 2000 }, (_v, i) => `busy-${i}`).map((room) => slotOf(room)))]
    .filter((slot) => cluster.ownerOf(slot) === source).sort((x, y) => x - y).slice(0, 3)
  const rooms = lowest.map((slot) => Array.from({ length: 2000 }, (_v, i) => `busy-${i}`).find((room) => slotOf(room) === slot)!)
  assert.equal(new Set(rooms.map(partitionOf)).size, 3)

  const config = { ...cluster.config, CHAT_MSG_RATE: 1000 }
  const a = await startServer(t, config)
  const b = await startServer(t, config)
  const members: Member[] = []
  for (const room of rooms) members.push(await startMember(t, a, `ann-${room}`, room), await startMember(t, b, `bea-${room}`, room))
  const senders: Sender[] = []
  for (const [i, room] of rooms.entries()) senders.push(await startSender(t, i % 2 === 0 ? a : b, `sender-${room}`, room, { pauseMs: 5 }))
  await eventually(() => senders.every((sender) => sender.acked.size >= 50), 20_000, 'traffic before the reshard')

  const idOf = (port: number) => spawnSync('redis-cli', ['-p', String(port), 'cluster', 'myid'], { encoding: 'utf8' }).stdout.trim()
  const slots = lowest[2]! + 1
  const started = Date.now()
  const reshard = spawnSync('redis-cli', [
    '--cluster', 'reshard', `127.0.0.1:${source.port}`, '--cluster-from', idOf(source.port), '--cluster-to', idOf(target.port),
    '--cluster-slots', String(slots), '--cluster-yes'
  ], { encoding: 'utf8', timeout: 120_000 })
  const reshardMs = Date.now() - started
  assert.equal(reshard.status, 0, reshard.stdout + reshard.stderr)
  await cluster.settled()
  for (const slot of lowest) assert.equal(cluster.ownerOf(slot), target, `slot ${slot} moved`)

  const counts = senders.map((sender) => sender.acked.size)
  await eventually(() => senders.every((sender, i) => sender.acked.size >= counts[i]! + 50), 20_000, 'traffic after the reshard')
  await Promise.all(senders.map((sender) => sender.stop()))
  for (const sender of senders) {
    assert.equal(sender.unanswered, 0, 'every send is answered')
    assert.ok(sender.longestStallMs <= 5000, `sends stalled ${sender.longestStallMs} ms`)
  }
  for (const [i, room] of rooms.entries()) {
    const report = await deliveryReport(a, room, [senders[i]!])
    assert.deepEqual(report.lost, [], `${room}: no acknowledged message lost`)
    assert.deepEqual(report.storedTwice, [], `${room}: nothing stored twice`)
    assert.deepEqual(report.seqsGivenTwice, [], `${room}: no seq given twice`)
    assert.equal(report.stored, report.acked, `${room}: history holds exactly what was acknowledged`)
    for (const member of members.slice(i * 2, i * 2 + 2)) await assertContiguous(member, report.stored)
  }
  t.diagnostic(`${slots} slots (the rooms' ${lowest.join(', ')}) moved in ${reshardMs} ms; longest stall ${Math.max(...senders.map((s) => s.longestStallMs))} ms; ` +
    `${senders.reduce((sum, s) => sum + s.acked.size, 0)} acknowledged, ${senders.reduce((sum, s) => sum + s.errors, 0)} errors answered by a resend`)
})
