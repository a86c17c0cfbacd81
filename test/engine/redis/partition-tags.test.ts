import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import calculateSlot from 'cluster-key-slot'
import { PARTITION_TAGS_FILE, partitionTagsText } from '../../../scripts/partition-tags.ts'
import { PARTITIONS, partitionKeys, roomKeys } from '../../../src/engine/redis/keys.ts'
import { startRedisTarget } from '../../redis-layouts.ts'

/**
 * The slot ranges `redis-cli --cluster create` (and `rebalance`) gives `masters` primaries:
 * 16384 / masters slots each, rounded as redis-cli rounds them, the last taking the rest.
 */
function evenRanges (masters: number): [number, number][] {
  const per = 16384 / masters
  const ranges: [number, number][] = []
  let cursor = 0
  for (let i = 0; i < masters; i++) {
    const last = i === masters - 1 ? 16383 : Math.round(cursor + per - 1)
    ranges.push([cursor, last])
    cursor = last + 1
  }
  return ranges
}

const partitionSlots = () => Array.from({ length: PARTITIONS }, (_v, p) => calculateSlot(partitionKeys(p).outbox))

function spread (ranges: [number, number][]): number[] {
  const slots = partitionSlots()
  return ranges.map(([first, last]) => slots.filter((slot) => slot >= first && slot <= last).length)
}

test('the partitions\' tags are those the generator finds now (npm run generate writes them)', () => {
  assert.equal(readFileSync(PARTITION_TAGS_FILE, 'utf8'), partitionTagsText(), 'src/engine/redis/partition-tags.ts is out of date')
})

test('partition N lives in slot N × 64 + 32, with every key of its rooms', () => {
  assert.equal(PARTITIONS, 256)
  assert.deepEqual(partitionSlots(), Array.from({ length: PARTITIONS }, (_v, p) => p * 64 + 32))
  for (const room of ['lobby', 'a:b', 'x'.repeat(64)]) {
    const keys = roomKeys(room)
    const slot = calculateSlot(keys.room)
    for (const key of [keys.messages, keys.grants, keys.presence, keys.changes, keys.channel, keys.outbox, keys.sent('u', 'c')]) {
      assert.equal(calculateSlot(key), slot, key)
    }
    assert.equal(slot, keys.partition * 64 + 32)
  }
})

test('from 3 to 64 primaries with even slot ranges, the busiest holds at most 1.25 × the partitions of the idlest', () => {
  let worst = 0
  for (let masters = 3; masters <= 64; masters++) {
    const counts = spread(evenRanges(masters))
    assert.equal(counts.reduce((a, b) => a + b, 0), PARTITIONS)
    const ratio = Math.max(...counts) / Math.min(...counts)
    assert.ok(Number.isFinite(ratio) && ratio <= 1.25, `${masters} primaries: ${counts.join(' ')}`)
    worst = Math.max(worst, ratio)
  }
  // The tags of layout 2 (`{p0}` … `{p127}`) on 16 primaries: 2 to 15 partitions each.
  const old = evenRanges(16).map(([first, last]) =>
    Array.from({ length: 128 }, (_v, p) => calculateSlot(`p${p}`)).filter((slot) => slot >= first && slot <= last).length)
  assert.ok(Math.max(...old) / Math.min(...old) > 2, `layout 2 was uneven: ${old.join(' ')}`)
  assert.ok(worst > 1, 'some count of primaries does not divide 256')
})

test('on a real 3-primary cluster, each primary holds 85 or 86 partitions', async (t) => {
  const redis = await startRedisTarget(t, 'cluster')
  if (redis === undefined) return
  const slots = await redis.primaries()[0]!.cluster('SLOTS') as [number, number, ...unknown[]][]
  const slotsOf = partitionSlots()
  const counts = slots.map(([first, last]) => slotsOf.filter((slot) => slot >= first && slot <= last).length).sort()
  assert.deepEqual(counts, [85, 85, 86])
})
