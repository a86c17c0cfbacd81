/**
 * Writes src/engine/redis/partition-tags.ts: the hash tag of each of the Redis engine's
 * PARTITIONS partitions, chosen so that partition i lives in slot i × 64 + 32. Evenly spaced
 * slots split evenly over any primaries that hold even slot ranges (as `redis-cli --cluster
 * create` and `rebalance` make them), where tags such as `p17` land on slots at random and some
 * primaries get several times the rooms of others. A tag is `p<i>` and the shortest suffix of
 * lower-case letters that puts it in its slot; the search is deterministic, so the file is the
 * same on every run. A test checks the file against this search and the spread.
 *
 *   node --import tsx scripts/partition-tags.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs'
import calculateSlot from 'cluster-key-slot'

export const PARTITION_TAGS_FILE = new URL('../src/engine/redis/partition-tags.ts', import.meta.url)
export const PARTITION_COUNT = 256
export const SLOT_STEP = 16384 / PARTITION_COUNT
export const slotOfPartition = (partition: number) => partition * SLOT_STEP + SLOT_STEP / 2

const LETTERS = 'abcdefghijklmnopqrstuvwxyz'

/** The suffixes of lower-case letters, shortest first, in order: a, b, …, z, aa, ab, … (bounded: 26⁴ of them). */
function * suffixes (): Generator<string> {
  for (let length = 1; length <= 4; length++) {
    const count = LETTERS.length ** length
    for (let n = 0; n < count; n++) {
      let text = ''
      for (let rest = n, i = 0; i < length; i++, rest = Math.floor(rest / LETTERS.length)) text = LETTERS[rest % LETTERS.length] + text
      yield text
    }
  }
}

/** The tag of each partition. */
export function partitionTags (): string[] {
  return Array.from({ length: PARTITION_COUNT }, (_v, partition) => {
    const slot = slotOfPartition(partition)
    for (const suffix of suffixes()) {
      const tag = `p${partition}${suffix}`
      if (calculateSlot(tag) === slot) return tag
    }
    throw new Error(`no tag found for partition ${partition}`)
  })
}

export function partitionTagsText (): string {
  const tags = partitionTags()
  const rows: string[] = []
  for (let i = 0; i < tags.length; i += 8) rows.push('  ' + tags.slice(i, i + 8).map((tag) => `'${tag}'`).join(', '))
  return `// Written by scripts/partition-tags.ts (npm run generate); do not edit.

/** The hash tag of each partition: partition i's keys live in slot i × ${SLOT_STEP} + ${SLOT_STEP / 2}. */
export const PARTITION_TAGS: readonly string[] = [
${rows.join(',\n')}
]
`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = partitionTagsText()
  if (process.argv.includes('--check')) {
    if (readFileSync(PARTITION_TAGS_FILE, 'utf8') !== text) {
      process.stderr.write('src/engine/redis/partition-tags.ts is out of date: run npm run generate\n')
      process.exit(1)
    }
  } else {
    writeFileSync(PARTITION_TAGS_FILE, text)
  }
}
