import assert from 'node:assert/strict'
import { editsStorage } from '../../../src/features/message-edits/storage.ts'
import { appendMany, contractTest, seqs } from '../../engine/store-engines.ts'

/** The edits port's contract, on every engine. */
const options = { extensions: [editsStorage] }
const NO_FIELDS = {}

contractTest('edits: an edit replaces the text in place, counts versions and is recorded for recovery', async ({ store, port }) => {
  const edits = port(editsStorage)
  await store.createRoom({ id: 'e' })
  const [first, second] = await appendMany(store, 'e', 3)
  const edited = await edits.edit('e', 1, 'fixed', NO_FIELDS, { user: 'alice' }, true)
  assert.ok(edited.outcome === 'changed')
  assert.equal(edited.message.text, 'fixed')
  assert.equal(edited.message.version, 2)
  assert.equal(edited.message.seq, 1)
  assert.equal(edited.message.id, first!.id, 'an edit keeps the id and seq')
  assert.ok(!Number.isNaN(Date.parse(edited.message.editedAt!)))
  const again = await edits.edit('e', 1, 'fixed twice', NO_FIELDS, { admin: true }, true)
  assert.ok(again.outcome === 'changed')
  assert.equal(again.message.version, 3, 'an operator may edit any message')
  assert.equal(await store.latestSeq('e'), 3, 'edits take no seq')
  const history = await store.history('e', 50) as Record<string, unknown>[]
  assert.deepEqual(history.map((m) => [m.seq, m.text, m.version]), [[1, 'fixed twice', 3], [2, 'm2', undefined], [3, 'm3', undefined]])
  assert.deepEqual(history[1], second, 'a message never edited is unchanged and has no version')
}, options)

contractTest('edits: only the author edits or deletes; unknown seqs and deleted messages are not found', async ({ store, port }) => {
  const edits = port(editsStorage)
  await store.createRoom({ id: 'p' })
  await appendMany(store, 'p', 2)
  assert.deepEqual(await edits.edit('p', 1, 'mine now', NO_FIELDS, { user: 'mallory' }, true), { outcome: 'forbidden' })
  assert.deepEqual(await edits.delete('p', 1, NO_FIELDS, { user: 'mallory' }, true), { outcome: 'forbidden' })
  assert.deepEqual(await edits.edit('p', 9, 'x', NO_FIELDS, { user: 'alice' }, true), { outcome: 'not_found' })
  assert.deepEqual(await edits.delete('nowhere', 1, NO_FIELDS, { admin: true }, true), { outcome: 'not_found' })
  const deleted = await edits.delete('p', 2, NO_FIELDS, { user: 'alice' }, true)
  assert.ok(deleted.outcome === 'changed')
  assert.equal(deleted.message.deleted, true)
  assert.equal(deleted.message.text, '')
  assert.ok(!Number.isNaN(Date.parse(deleted.message.deletedAt!)))
  assert.deepEqual(await edits.edit('p', 2, 'revive', NO_FIELDS, { user: 'alice' }, true), { outcome: 'not_found' })
  const twice = await edits.delete('p', 2, NO_FIELDS, { admin: true }, true)
  assert.deepEqual(twice, { outcome: 'unchanged', message: deleted.message }, 'a second delete changes nothing')
  assert.deepEqual((await store.history('p', 50) as Record<string, unknown>[]).map((m) => [m.seq, m.text, m.deleted]),
    [[1, 'm1', undefined], [2, '', true]])
}, options)

contractTest('edits: the fields derived from the new text are set, and those no longer derived removed', async ({ store, port }) => {
  const edits = port(editsStorage)
  await store.createRoom({ id: 'f' })
  await store.append('f', 'alice', 'hi @bob', { fields: { mentions: ['bob'] } })
  const edited = await edits.edit('f', 1, 'hi @carol', { mentions: ['carol'] }, { user: 'alice' }, true)
  assert.ok(edited.outcome === 'changed')
  assert.deepEqual((edited.message as Record<string, unknown>).mentions, ['carol'])
  const plain = await edits.edit('f', 1, 'hi all', { mentions: undefined }, { user: 'alice' }, true)
  assert.ok(plain.outcome === 'changed')
  assert.ok(!('mentions' in plain.message), 'a field no longer derived is gone')
  assert.deepEqual(await store.message('f', 1), plain.message, 'stored as answered')
}, options)

contractTest('edits: recovery lists the older messages changed since the client last saw the room', async ({ store, port }) => {
  const edits = port(editsStorage)
  await store.createRoom({ id: 'r' })
  await appendMany(store, 'r', 4)
  await edits.edit('r', 1, 'early edit', NO_FIELDS, { user: 'alice' }, true)
  // A client saw up to seq 4; then these happen:
  await edits.edit('r', 2, 'late edit', NO_FIELDS, { user: 'alice' }, true)
  await edits.delete('r', 3, NO_FIELDS, { user: 'alice' }, true)
  await store.append('r', 'bob', 'm5')
  await edits.edit('r', 5, 'newer message edited', NO_FIELDS, { user: 'bob' }, true)
  const recovery = await store.recover('r', 4)
  // The edit of 1 was stamped at seq 4 too: it may be repeated, as the contract allows.
  assert.deepEqual(recovery.changed.map((m) => [m.seq, m.text]), [[1, 'early edit'], [2, 'late edit'], [3, '']])
  assert.deepEqual((recovery.messages as Record<string, unknown>[]).map((m) => [m.seq, m.text, m.version]), [[5, 'newer message edited', 2]],
    'replayed messages are as they are now')
  const caughtUp = await store.recover('r', 5)
  assert.deepEqual(caughtUp.changed.map((m) => m.seq), [5], 'the change stamped at seq 5 concerns a client that saw 5')
  assert.deepEqual((await store.recover('r', 0)).changed, [], 'a client that saw nothing is owed no change')
}, options)

contractTest('edits: changes of trimmed messages are not replayed', async ({ store, port }) => {
  const edits = port(editsStorage)
  await store.createRoom({ id: 't', historyLimit: 3 })
  await appendMany(store, 't', 3)
  await edits.edit('t', 1, 'soon gone', NO_FIELDS, { user: 'alice' }, true)
  await appendMany(store, 't', 2)
  assert.deepEqual(seqs(await store.history('t', 50)), [3, 4, 5])
  assert.deepEqual((await store.recover('t', 3)).changed, [])
  assert.deepEqual(await edits.edit('t', 1, 'x', NO_FIELDS, { user: 'alice' }, true), { outcome: 'not_found' }, 'not retained')
}, options)
