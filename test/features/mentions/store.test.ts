import assert from 'node:assert/strict'
import { editsStorage } from '../../../src/features/message-edits/storage.ts'
import { mentionsStorage } from '../../../src/features/mentions/storage.ts'
import { contractTest } from '../../engine/store-engines.ts'

/** The mentions port's contract, on every engine: the index follows appends, changes and trimming. */
contractTest('mentions: counts follow appends and changes, and leave trimmed messages out', async ({ store, port }) => {
  const mentions = port(mentionsStorage)
  const edits = port(editsStorage)
  await store.createRoom({ id: 'm', historyLimit: 100 })
  await store.createRoom({ id: 'quiet' })
  await store.append('m', 'alice', 'hi @bob @carol', { fields: { mentions: ['bob', 'carol'] } })
  await store.append('m', 'alice', 'plain')
  await store.append('m', 'alice', 'again @bob', { fields: { mentions: ['bob'] } })
  assert.deepEqual(await mentions.counts('bob', [{ room: 'm', after: 0 }, { room: 'm', after: 1 }, { room: 'm', after: 3 }, { room: 'quiet', after: 0 }]),
    [2, 1, 0, 0])
  assert.deepEqual(await mentions.counts('carol', [{ room: 'm', after: 0 }]), [1])
  await edits.edit('m', 1, 'hi @carol', { mentions: ['carol'] }, { user: 'alice' }, true)
  await edits.edit('m', 2, 'now @bob', { mentions: ['bob'] }, { user: 'alice' }, true)
  assert.deepEqual(await mentions.counts('bob', [{ room: 'm', after: 0 }]), [2], 'bob left message 1 and came into message 2')
  await edits.delete('m', 3, { mentions: undefined }, { user: 'alice' }, true)
  assert.deepEqual(await mentions.counts('bob', [{ room: 'm', after: 0 }]), [1], 'a deleted message mentions nobody')
  await store.updateRoom('m', { historyLimit: 1 })
  assert.deepEqual(await mentions.counts('bob', [{ room: 'm', after: 0 }]), [0], 'message 2 is no longer retained')
  for (let i = 0; i < 70; i++) await store.append('m', 'alice', `@bob ${i}`, { fields: { mentions: ['bob'] } })
  assert.deepEqual(await mentions.counts('bob', [{ room: 'm', after: 0 }]), [1], 'only the newest message is retained')
}, { extensions: [editsStorage, mentionsStorage] })
