import assert from 'node:assert/strict'
import { editsStorage } from '../../../src/features/message-edits/storage.ts'
import { reactionsStorage } from '../../../src/features/reactions/storage.ts'
import { appendMany, contractTest } from '../../engine/store-engines.ts'

const options = { extensions: [editsStorage, reactionsStorage] }

/** The reactions port's contract, on every engine. */
contractTest('reactions: one per user and emoji, summarized on the message, recorded for recovery', async ({ store, port }) => {
  const reactions = port(reactionsStorage)
  await store.createRoom({ id: 'r' })
  await appendMany(store, 'r', 2)
  const added = await reactions.react('r', 1, 'bob', '👍', true, true)
  assert.ok(added.outcome === 'changed')
  assert.deepEqual(added.message.reactions, [{ emoji: '👍', count: 1, users: ['bob'] }])
  assert.equal((await reactions.react('r', 1, 'bob', '👍', true, true)).outcome, 'unchanged')
  assert.equal((await reactions.react('r', 1, 'bob', '🎉', false, true)).outcome, 'unchanged')
  await reactions.react('r', 1, 'carol', '🎉', true, true)
  await reactions.react('r', 1, 'carol', '👍', true, true)
  assert.deepEqual((await store.message('r', 1) as Record<string, unknown>).reactions,
    [{ emoji: '👍', count: 2, users: ['bob', 'carol'] }, { emoji: '🎉', count: 1, users: ['carol'] }])
  assert.deepEqual((await reactions.list('r', 1))!.map((r) => [r.emoji, r.user]), [['👍', 'bob'], ['🎉', 'carol'], ['👍', 'carol']])
  assert.deepEqual((await store.recover('r', 2)).changed.map((m) => m.seq), [1], 'the change is replayed to a client that saw seq 2')
  const removed = await reactions.react('r', 1, 'carol', '🎉', false, true)
  assert.ok(removed.outcome === 'changed')
  assert.deepEqual(removed.message.reactions, [{ emoji: '👍', count: 2, users: ['bob', 'carol'] }])
  assert.deepEqual(await reactions.list('r', 2), [])
  assert.equal(await reactions.list('r', 3), undefined)
  assert.deepEqual(await reactions.react('r', 9, 'bob', 'x', true, true), { outcome: 'not_found' })
  await port(editsStorage).delete('r', 2, {}, { admin: true }, true)
  assert.deepEqual(await reactions.react('r', 2, 'bob', 'x', true, true), { outcome: 'not_found' }, 'a deleted message')
}, options)

contractTest('reactions: those of messages no longer retained go with them', async ({ store, port }) => {
  const reactions = port(reactionsStorage)
  await store.createRoom({ id: 't', historyLimit: 100 })
  await appendMany(store, 't', 3)
  await reactions.react('t', 1, 'bob', '👍', true, true)
  await reactions.react('t', 3, 'bob', '👍', true, true)
  await store.updateRoom('t', { historyLimit: 1 })
  assert.equal(await reactions.list('t', 1), undefined)
  assert.deepEqual((await reactions.list('t', 3))!.map((r) => r.user), ['bob'])
  await store.updateRoom('t', { historyLimit: 100 })
  await store.append('t', 'alice', 'new')
  assert.deepEqual(await reactions.list('t', 4), [])
}, options)
