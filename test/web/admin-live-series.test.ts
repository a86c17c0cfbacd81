import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LiveSeries, ratePerSecond, readScrape } from '../../src/web/admin/live-series.ts'
import { sparklinePoints } from '../../src/web/admin/sparkline.ts'
import { connectAs, http, startServer } from '../helper.ts'

test('the admin page reads connections and counters from a real /metrics scrape', async (t) => {
  const server = await startServer(t)
  const scrape = async (time: number) => readScrape((await http(server.url, 'GET', '/metrics')).text, time)

  const idle = await scrape(0)
  assert.deepEqual([idle.connections, idle.messagesStored, idle.deliveries], [0, 0, 0])

  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  for (const text of ['one', 'two', 'three']) assert.equal((await alice.request({ type: 'message', room: 'lobby', text })).type, 'ack')
  await bob.next((frame) => frame.type === 'message' && frame.text === 'three')

  const busy = await scrape(2000)
  assert.equal(busy.connections, 2)
  assert.equal(busy.messagesStored, 3)
  assert.ok(busy.deliveries >= 6, `each message reached both members (${busy.deliveries} deliveries)`)

  const series = new LiveSeries(2)
  assert.ok(Number.isNaN(series.add(idle).messagesPerSecond), 'the first scrape has no rate')
  const point = series.add(busy)
  assert.equal(point.connections, 2)
  assert.equal(point.messagesPerSecond, 1.5, '3 messages in 2 s')
  assert.equal(point.deliveriesPerSecond, busy.deliveries / 2)
  series.add({ ...busy, time: 4000 })
  assert.deepEqual(series.points.map((p) => p.time), [2000, 4000], 'keeps its capacity')
})

test('a family missing from the scrape reads as NaN, not 0', () => {
  const scrape = readScrape('# HELP other_total x\n# TYPE other_total counter\nother_total 5\n', 0)
  assert.ok(Number.isNaN(scrape.connections))
  assert.ok(Number.isNaN(scrape.messagesStored))
})

test('rates: a counter that went down was reset, and its new value is the increase', () => {
  assert.equal(ratePerSecond(10, 16, 3), 2)
  assert.equal(ratePerSecond(100, 6, 3), 2)
  assert.ok(Number.isNaN(ratePerSecond(1, 2, 0)))
})

test('sparkline points span the box from 0 at the bottom to the peak at the top', () => {
  assert.equal(sparklinePoints([], 120, 32), '')
  assert.equal(sparklinePoints([0, 2, 4], 120, 32), '0.0,31.0 60.0,16.0 120.0,1.0')
  // NaN (no rate yet) is left out; a quiet series stays at the bottom rather than filling the box.
  assert.equal(sparklinePoints([Number.NaN, 0, 0], 120, 32), '0.0,31.0 120.0,31.0')
  assert.equal(sparklinePoints([0.5], 120, 32), '0.0,16.0')
})
