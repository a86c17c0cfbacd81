import assert from 'node:assert/strict'
import { readStorage } from '../../../src/features/read-state/storage.ts'
import { appendMany, contractTest } from '../../engine/store-engines.ts'

/** The read state port's contract, on every engine. */
const options = { extensions: [readStorage] }

contractTest('reads: read seqs only move forward and are listed per room and per user', async ({ store, port }) => {
  const reads = port(readStorage)
  await store.createRoom({ id: 'a' })
  await store.createRoom({ id: 'b' })
  await appendMany(store, 'a', 5)
  await appendMany(store, 'b', 2)
  assert.equal(await reads.readSeq('a', 'alice'), undefined)
  const moved = await reads.saveReads([
    { room: 'a', user: 'alice', seq: 3 }, { room: 'a', user: 'bob', seq: 5 }, { room: 'b', user: 'alice', seq: 0 },
    { room: 'gone', user: 'alice', seq: 1 }
  ])
  assert.deepEqual(moved.map((m) => `${m.room}/${m.user}/${m.seq}`), ['a/alice/3', 'a/bob/5', 'b/alice/0'], 'a missing room is dropped')
  assert.deepEqual(await reads.saveReads([{ room: 'a', user: 'alice', seq: 2 }, { room: 'a', user: 'bob', seq: 5 }]), [],
    'backwards or unchanged moves change nothing')
  assert.equal(await reads.readSeq('a', 'alice'), 3)
  assert.deepEqual(await reads.reads('a'), [{ user: 'alice', seq: 3 }, { user: 'bob', seq: 5 }])
  assert.deepEqual(await reads.unread('alice'), [
    { room: 'a', seq: 5, readSeq: 3, unread: 2 }, { room: 'b', seq: 2, readSeq: 0, unread: 2 }
  ])
  await store.deleteRoom('b')
  assert.deepEqual((await reads.unread('alice')).map((r) => r.room), ['a'], 'a deleted room is no longer listed')
  await store.createRoom({ id: 'b' })
  assert.deepEqual((await reads.unread('alice')).map((r) => r.room), ['a'], 'nor is a new room of the same id')
  assert.deepEqual(await reads.reads('b'), [])
}, options)

contractTest('reads: a sender\'s read seq moves to its message in the append\'s own step, when it has one', async ({ store, port }) => {
  const reads = port(readStorage)
  await store.createRoom({ id: 'a' })
  await appendMany(store, 'a', 2)
  await reads.saveReads([{ room: 'a', user: 'alice', seq: 1 }])
  const [first, second] = await Promise.all([
    store.append('a', 'alice', 'one'),
    store.append('a', 'alice', 'two', { clientId: 'c-2' })
  ])
  assert.deepEqual([first!.effects?.['read-state'], second!.effects?.['read-state'], second!.message.seq], [1, 1, 4])
  assert.equal(await reads.readSeq('a', 'alice'), 4, 'the read seq is at the newest of the batch, not behind it')
  assert.deepEqual(await reads.unread('alice'), [{ room: 'a', seq: 4, readSeq: 4, unread: 0 }])
  const repeat = await store.append('a', 'alice', 'two', { clientId: 'c-2' })
  assert.deepEqual([repeat.duplicate, repeat.effects], [true, undefined], 'a repeat stores nothing, and moves nothing')
  // A sender without a read seq here has none written by its message.
  const bob = await store.append('a', 'bob', 'first words')
  assert.equal(bob.effects?.['read-state'], undefined)
  assert.equal(await reads.readSeq('a', 'bob'), undefined)
  assert.deepEqual(await reads.unread('bob'), [])
}, options)
