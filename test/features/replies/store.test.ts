import assert from 'node:assert/strict'
import { Refused } from '../../../src/engine/extension.ts'
import { editsStorage } from '../../../src/features/message-edits/storage.ts'
import { repliesStorage } from '../../../src/features/replies/storage.ts'
import { appendMany, contractTest, seqs } from '../../engine/store-engines.ts'

const options = { extensions: [editsStorage, repliesStorage] }
const reply = (root: number) => ({ fields: { replyTo: root } })

/** The replies port's contract, on every engine: hooks in the append and the delete, and the thread index. */
contractTest('replies: the append checks the root and updates its thread in its own step', async ({ store, port }) => {
  const replies = port(repliesStorage)
  await store.createRoom({ id: 'r' })
  await appendMany(store, 'r', 2)
  const first = await store.append('r', 'bob', 'a reply', reply(1))
  assert.equal(first.effects?.replies, 1, 'the effect names the root')
  assert.equal((first.message as Record<string, unknown>).replyTo, 1)
  const second = await store.append('r', 'carol', 'another', reply(1))
  const root = await store.message('r', 1) as Record<string, unknown>
  assert.deepEqual(root.thread, { replies: 2, lastSeq: second.message.seq, lastTime: second.message.time })
  assert.deepEqual((await store.recover('r', 2)).changed.map((m) => m.seq), [1], 'the root\'s change is replayed')
  await assert.rejects(store.append('r', 'bob', 'x', reply(9)), (err: Refused) => err instanceof Refused && err.code === 'not_found')
  assert.equal(await store.latestSeq('r'), 4, 'a refused reply takes no seq')
  assert.deepEqual(seqs(await replies.thread('r', 1, 10)), [3, 4])
  assert.deepEqual(seqs(await replies.thread('r', 1, 1)), [4])
  assert.deepEqual(seqs(await replies.thread('r', 1, 10, 4)), [3])
  assert.deepEqual(await replies.thread('r', 2, 10), [])
}, options)

contractTest('replies: deleting a reply updates its root in the delete\'s step', async ({ store, port }) => {
  const edits = port(editsStorage)
  await store.createRoom({ id: 'd' })
  await appendMany(store, 'd', 1)
  const a = await store.append('d', 'bob', 'a', reply(1))
  const b = await store.append('d', 'bob', 'b', reply(1))
  await edits.delete('d', b.message.seq, {}, { admin: true }, true)
  assert.deepEqual((await store.message('d', 1) as Record<string, unknown>).thread, { replies: 1, lastSeq: a.message.seq, lastTime: a.message.time })
  await edits.delete('d', a.message.seq, {}, { admin: true }, true)
  assert.ok(!('thread' in (await store.message('d', 1))!), 'no undeleted reply: no thread')
  await assert.rejects(store.append('d', 'bob', 'to a tombstone', reply(a.message.seq)), Refused)
  await edits.delete('d', 1, {}, { admin: true }, true)
  await assert.rejects(store.append('d', 'bob', 'to a deleted root', reply(1)), Refused)
}, options)

contractTest('replies: threads of roots no longer retained go with them', async ({ store, port }) => {
  const replies = port(repliesStorage)
  await store.createRoom({ id: 't', historyLimit: 100 })
  await appendMany(store, 't', 1)
  await store.append('t', 'bob', 'r', reply(1))
  await store.append('t', 'bob', 'root 2')
  await store.append('t', 'bob', 'r2', reply(3))
  await store.updateRoom('t', { historyLimit: 2 })
  assert.deepEqual(await replies.thread('t', 1, 10), [])
  assert.deepEqual(seqs(await replies.thread('t', 3, 10)), [4])
}, options)
