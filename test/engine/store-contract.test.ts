import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { NotFoundError, type ChatStore } from '../../src/engine/types.ts'
import { eventually } from '../helper.ts'
import { appendMany, contractTest, range, seqs, type StoreOptions } from './store-engines.ts'

/** The ChatStore contract every engine keeps: each test runs on SQLite and Redis in both layouts, named after the engine. */

/** A test on a store opened with the given default history limit (1000 when omitted) or options. */
const storeTest = (name: string, body: (store: ChatStore) => Promise<void>, options?: number | StoreOptions) =>
  contractTest(name, ({ store }) => body(store), typeof options === 'number' ? { defaultHistoryLimit: options } : options)

storeTest('a room\'s seq starts at 1 and the stored message is what append resolved with', async (store) => {
  await store.createRoom({ id: 'lobby' })
  assert.equal(await store.latestSeq('lobby'), 0)
  const text = 'hello "quoted" \\ \u00e9\u{1F600}\n'
  const first = (await store.append('lobby', 'alice', text)).message
  assert.equal(first.seq, 1)
  assert.equal(first.room, 'lobby')
  assert.equal(first.user, 'alice')
  assert.equal(first.text, text)
  assert.equal(typeof first.id, 'string')
  assert.ok(!Number.isNaN(Date.parse(first.time)), `time is ISO 8601: ${first.time}`)
  assert.equal(new Date(first.time).toISOString(), first.time)
  const second = (await store.append('lobby', 'bob', 'hi')).message
  assert.equal(second.seq, 2)
  assert.notEqual(second.id, first.id)
  assert.equal(await store.latestSeq('lobby'), 2)
  assert.deepEqual(await store.history('lobby', 50), [first, second])
})

storeTest('300 concurrent appends to several rooms get gap-free, unique seqs in each room', async (store) => {
  const rooms = ['r1', 'r2', 'r3', 'r4']
  for (const id of rooms) await store.createRoom({ id })
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) => {
    const room = rooms[i % rooms.length]!
    return store.append(room, `u${i % 7}`, `text ${i}`).then((appended) => appended.message)
  }))
  assert.equal(new Set(results.map((m) => m.id)).size, 300, 'every id is unique')
  for (const room of rooms) {
    const mine = results.filter((m) => m.room === room)
    assert.deepEqual(seqs(mine).sort((a, b) => a - b), range(1, mine.length), `room ${room} seqs are 1..n`)
    assert.deepEqual(seqs(mine), range(1, mine.length), `room ${room}: seq follows call order`)
    assert.equal(await store.latestSeq(room), mine.length)
    assert.deepEqual(await store.history(room, 100), mine, `room ${room} stored exactly what was acknowledged`)
  }
})

storeTest('a room keeps exactly its newest historyLimit messages', async (store) => {
  await store.createRoom({ id: 'small', historyLimit: 3 })
  await store.createRoom({ id: 'default' })
  await appendMany(store, 'small', 10)
  await appendMany(store, 'default', 8)
  assert.deepEqual(seqs(await store.history('small', 100)), [8, 9, 10])
  assert.deepEqual(seqs(await store.history('default', 100)), [4, 5, 6, 7, 8], 'the default limit applies')
  assert.equal(await store.latestSeq('small'), 10, 'trimming does not reset seq')
  assert.equal((await store.append('small', 'u', 'next')).message.seq, 11)
}, 5)

storeTest('trimming applies within one batch of concurrent appends', async (store) => {
  await store.createRoom({ id: 'burst', historyLimit: 4 })
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.append('burst', 'u', String(i))))
  assert.deepEqual(seqs(await store.history('burst', 100)), [17, 18, 19, 20])
})

storeTest('lowering historyLimit trims at once; null returns to the default', async (store) => {
  await store.createRoom({ id: 'room' })
  await appendMany(store, 'room', 10)
  assert.deepEqual(seqs(await store.history('room', 100)), [5, 6, 7, 8, 9, 10])
  const updated = await store.updateRoom('room', { historyLimit: 2 })
  assert.equal(updated?.historyLimit, 2)
  assert.deepEqual(seqs(await store.history('room', 100)), [9, 10])
  const reset = await store.updateRoom('room', { historyLimit: null })
  assert.equal(reset?.historyLimit, null)
  await appendMany(store, 'room', 6)
  assert.deepEqual(seqs(await store.history('room', 100)), [11, 12, 13, 14, 15, 16])
}, 6)

storeTest('history: newest `limit` messages, or those below `before`, always ascending', async (store) => {
  await store.createRoom({ id: 'h' })
  await appendMany(store, 'h', 12)
  assert.deepEqual(seqs(await store.history('h', 5)), [8, 9, 10, 11, 12])
  assert.deepEqual(seqs(await store.history('h', 50)), range(1, 12))
  assert.deepEqual(seqs(await store.history('h', 3, 8)), [5, 6, 7])
  assert.deepEqual(seqs(await store.history('h', 10, 4)), [1, 2, 3])
  assert.deepEqual(seqs(await store.history('h', 10, 1)), [])
  assert.deepEqual(seqs(await store.history('h', 2, 100)), [11, 12], 'before past the end means the newest')
  assert.deepEqual(await store.history('empty-or-missing', 10), [])
  const seen: number[] = []
  let before: number | undefined
  for (let page = 0; page < 10; page++) {
    const messages = await store.history('h', 5, before)
    if (messages.length === 0) break
    seen.unshift(...seqs(messages))
    before = messages[0]!.seq
  }
  assert.deepEqual(seen, range(1, 12), 'paging backwards visits every message once')
})

storeTest('recover: messages after since, latestSeq, and whether history reached back', async (store) => {
  await store.createRoom({ id: 'rec', historyLimit: 5 })
  await store.createRoom({ id: 'quiet' })
  assert.deepEqual(await store.recover('quiet', 0), { latestSeq: 0, changed: [], messages: [], recovered: true })

  await appendMany(store, 'rec', 8) // keeps 4..8
  const full = await store.recover('rec', 5)
  assert.equal(full.latestSeq, 8)
  assert.equal(full.recovered, true)
  assert.deepEqual(seqs(full.messages), [6, 7, 8])
  assert.deepEqual(full.messages, await store.history('rec', 3), 'the same objects as history')

  const edge = await store.recover('rec', 3)
  assert.equal(edge.recovered, true, 'the oldest kept message is since + 1')
  assert.deepEqual(seqs(edge.messages), [4, 5, 6, 7, 8])

  const gap = await store.recover('rec', 1)
  assert.equal(gap.recovered, false, 'messages 2 and 3 were trimmed')
  assert.equal(gap.latestSeq, 8)
  assert.deepEqual(seqs(gap.messages), [4, 5, 6, 7, 8])

  assert.deepEqual(await store.recover('rec', 8), { latestSeq: 8, changed: [], messages: [], recovered: true })
  assert.deepEqual(await store.recover('rec', 20), { latestSeq: 8, changed: [], messages: [], recovered: false },
    'a since beyond the room\'s seq cannot be honoured')
  assert.deepEqual(await store.recover('missing', 3), { latestSeq: 0, changed: [], messages: [], recovered: false })
  assert.deepEqual(await store.recover('missing', 0), { latestSeq: 0, changed: [], messages: [], recovered: true })
})

storeTest('rooms: create, conflict, get, list by id with paging, update, delete', async (store) => {
  const created = await store.createRoom({ id: 'b-room', name: 'B', private: true, historyLimit: 10, slowModeMs: 1500 })
  assert.deepEqual(created, { id: 'b-room', name: 'B', private: true, historyLimit: 10, slowModeMs: 1500, retentionDays: null, createdAt: created!.createdAt })
  assert.ok(!Number.isNaN(Date.parse(created!.createdAt)))
  assert.equal(new Date(created!.createdAt).toISOString(), created!.createdAt)
  assert.equal(await store.createRoom({ id: 'b-room', name: 'again' }), undefined, 'an existing id is not replaced')
  assert.deepEqual(await store.getRoom('b-room'), created)

  const plain = await store.createRoom({ id: 'a-room' })
  assert.deepEqual(plain, { id: 'a-room', name: 'a-room', private: false, historyLimit: null, slowModeMs: 0, retentionDays: null, createdAt: plain!.createdAt })
  assert.deepEqual(await store.getRoom('a-room'), plain)
  assert.equal(await store.getRoom('none'), undefined)

  await store.createRoom({ id: 'c-room' })
  await store.createRoom({ id: 'B-upper' })
  const first = await store.listRooms(2)
  assert.deepEqual(first.rooms.map((r) => r.id), ['B-upper', 'a-room'], 'ordered by id, bytewise')
  assert.equal(first.hasMore, true)
  const second = await store.listRooms(2, 'a-room')
  assert.deepEqual(second.rooms.map((r) => r.id), ['b-room', 'c-room'])
  assert.equal(second.hasMore, false, 'no more when the page holds exactly the rest')
  assert.equal((await store.listRooms(4)).hasMore, false, 'no more when the first page holds every room')
  assert.deepEqual((await store.listRooms(5, 'c-room')).rooms, [])
  assert.deepEqual(second.rooms[0], created, 'a listed room carries every setting')

  const updated = await store.updateRoom('a-room', { name: 'Renamed', private: true })
  assert.deepEqual(updated, { ...plain, name: 'Renamed', private: true })
  assert.deepEqual(await store.getRoom('a-room'), updated)
  assert.deepEqual(await store.updateRoom('a-room', {}), updated)
  assert.deepEqual(await store.updateRoom('a-room', { private: false }), { ...updated, private: false })
  assert.deepEqual(await store.updateRoom('a-room', { slowModeMs: 2500 }), { ...updated, private: false, slowModeMs: 2500 })
  assert.deepEqual(await store.updateRoom('a-room', { name: 'Again' }), { ...updated, name: 'Again', private: false, slowModeMs: 2500 }, 'a patch without it keeps it')
  assert.deepEqual(await store.updateRoom('a-room', { slowModeMs: 0 }), { ...updated, name: 'Again', private: false, slowModeMs: 0 })
  assert.equal(await store.updateRoom('none', { name: 'x' }), undefined)
  assert.equal(await store.getRoom('none'), undefined, 'updating a missing room does not create it')

  assert.equal(await store.deleteRoom('a-room'), true)
  assert.equal(await store.deleteRoom('a-room'), false)
  assert.equal(await store.getRoom('a-room'), undefined)
  assert.deepEqual((await store.listRooms(10)).rooms.map((r) => r.id), ['B-upper', 'b-room', 'c-room'])
})

storeTest('deleting a room deletes its messages and grants; recreating starts at seq 1', async (store) => {
  await store.createRoom({ id: 'gone' })
  await appendMany(store, 'gone', 3)
  await store.setGrant('gone', 'alice')
  assert.equal(await store.deleteRoom('gone'), true)
  assert.deepEqual(await store.history('gone', 10), [])
  await store.createRoom({ id: 'gone' })
  assert.equal(await store.hasGrant('gone', 'alice'), false)
  assert.equal(await store.latestSeq('gone'), 0)
  assert.deepEqual(await store.history('gone', 10), [])
  assert.equal((await store.append('gone', 'u', 'again')).message.seq, 1)
})

storeTest('grants: set is idempotent, delete revokes, per room and per user', async (store) => {
  await store.createRoom({ id: 'vip', private: true })
  await store.createRoom({ id: 'other', private: true })
  assert.equal(await store.hasGrant('vip', 'alice'), false)
  await store.setGrant('vip', 'alice')
  await store.setGrant('vip', 'alice')
  assert.equal(await store.hasGrant('vip', 'alice'), true)
  assert.equal(await store.hasGrant('vip', 'bob'), false)
  assert.equal(await store.hasGrant('other', 'alice'), false)
  await store.deleteGrant('vip', 'alice')
  assert.equal(await store.hasGrant('vip', 'alice'), false)
  await store.deleteGrant('vip', 'alice') // revoking twice is harmless
  await assert.rejects(store.setGrant('no-such-room', 'alice'), NotFoundError, 'a grant needs an existing room')
  assert.equal(await store.hasGrant('no-such-room', 'alice'), false)
  assert.equal(await store.hasGrant('no-such-room', 'alice'), false)
})

storeTest('append to a missing or deleted room rejects with NotFoundError; other appends in the batch succeed', async (store) => {
  await assert.rejects(store.append('never', 'u', 'x'), NotFoundError)
  await store.createRoom({ id: 'doomed' })
  await store.createRoom({ id: 'fine' })
  await store.append('doomed', 'u', 'before')
  await store.deleteRoom('doomed')
  await assert.rejects(store.append('doomed', 'u', 'after'), NotFoundError)

  await store.createRoom({ id: 'doomed' })
  const racing = assert.rejects(store.append('doomed', 'u', 'queued before the delete'), NotFoundError)
  const neighbour = store.append('fine', 'u', 'same batch')
  await store.deleteRoom('doomed')
  await racing
  assert.equal((await neighbour).message.seq, 1)
  assert.equal(await store.getRoom('doomed'), undefined, 'a failed append does not bring the room back')
})

storeTest('a repeated clientId stores nothing and resolves with the first message', async (store) => {
  await store.createRoom({ id: 'once' })
  const first = await store.append('once', 'alice', 'hello', { clientId: 'c-1' })
  assert.equal(first.duplicate, false)
  assert.equal(first.message.clientId, 'c-1', 'the stored message carries its clientId')
  const again = await store.append('once', 'alice', 'hello, edited in the retry', { clientId: 'c-1' })
  assert.equal(again.duplicate, true)
  assert.deepEqual(again.message, first.message, 'the first message, not the repeat')
  assert.equal(await store.latestSeq('once'), 1)
  assert.deepEqual(await store.history('once', 50), [first.message])
  const plain = await store.append('once', 'alice', 'no key')
  assert.equal(plain.message.clientId, undefined, 'a message sent without a clientId has none')
  assert.equal(plain.message.seq, 2)
})

storeTest('a clientId belongs to one user in one room', async (store) => {
  await store.createRoom({ id: 'a' })
  await store.createRoom({ id: 'b' })
  const results = [
    await store.append('a', 'alice', 'x', { clientId: 'same' }),
    await store.append('a', 'bob', 'x', { clientId: 'same' }),
    await store.append('b', 'alice', 'x', { clientId: 'same' })
  ]
  assert.deepEqual(results.map((r) => r.duplicate), [false, false, false])
  assert.deepEqual(results.map((r) => `${r.message.room}#${r.message.seq}`), ['a#1', 'a#2', 'b#1'])
})

storeTest('a burst of five identical appends in one batch stores one message', async (store) => {
  await store.createRoom({ id: 'burst' })
  const results = await Promise.all(Array.from({ length: 5 }, () => store.append('burst', 'alice', 'tap tap', { clientId: 'k:1' })))
  assert.equal(results.filter((r) => !r.duplicate).length, 1, 'one is stored')
  assert.deepEqual(new Set(results.map((r) => r.message.id)).size, 1, 'all five answer with the same message')
  assert.deepEqual(seqs(await store.history('burst', 50)), [1])
})

storeTest('a clientId is remembered after its message has left history', async (store) => {
  await store.createRoom({ id: 'short', historyLimit: 2 })
  const first = await store.append('short', 'alice', 'first', { clientId: 'early' })
  await appendMany(store, 'short', 3)
  assert.deepEqual(seqs(await store.history('short', 50)), [3, 4], 'the first message is trimmed')
  const again = await store.append('short', 'alice', 'first', { clientId: 'early' })
  assert.equal(again.duplicate, true)
  assert.equal(again.message.seq, 1)
  assert.equal(again.message.id, first.message.id)
  assert.equal(again.message.clientId, 'early')
  assert.equal(await store.latestSeq('short'), 4, 'nothing stored')
})

storeTest('a clientId is forgotten after its time to live', async (store) => {
  await store.createRoom({ id: 'ttl' })
  const first = await store.append('ttl', 'alice', 'one', { clientId: 'old' })
  await sleep(300)
  // A newer clientId gives the store its chance to forget the expired ones.
  await store.append('ttl', 'alice', 'two', { clientId: 'new' })
  const later = await store.append('ttl', 'alice', 'one again', { clientId: 'old' })
  assert.equal(later.duplicate, false, 'an expired clientId is a new message')
  assert.equal(later.message.seq, first.message.seq + 2)
}, { clientIdTtlMs: 150 })

storeTest('a message\'s features\' fields are stored, read and replayed with it; message() reads one', async (store) => {
  await store.createRoom({ id: 'f' })
  const plain = (await store.append('f', 'alice', 'plain')).message
  const fields = { tags: ['a', 'b'], note: 'x', nested: { n: 1 } }
  const rich = await store.append('f', 'bob', 'rich', { clientId: 'r-1', fields })
  assert.deepEqual(rich.message, { ...rich.message, ...fields }, 'the append resolves with the fields')
  assert.deepEqual(await store.history('f', 10), [plain, rich.message])
  assert.deepEqual(await store.message('f', 2), rich.message)
  assert.equal(await store.message('f', 3), undefined)
  assert.equal(await store.message('nowhere', 1), undefined)
  assert.deepEqual((await store.recover('f', 1)).messages, [rich.message])
  const again = await store.append('f', 'bob', 'rich', { clientId: 'r-1', fields })
  assert.deepEqual([again.duplicate, again.message], [true, rich.message], 'a repeat answers with the stored fields')
})

contractTest('publishUpdated publishes retained messages as they now are, and skips those not retained', async ({ store, events, follow }) => {
  await store.createRoom({ id: 'u', historyLimit: 2 })
  await follow('u')
  await appendMany(store, 'u', 3)
  events.length = 0
  await store.publishUpdated('u', [1, 3])
  await eventually(() => events.some((event) => event.kind === 'updated'), 5000, 'the updated event')
  await sleep(100)
  const updated = events.filter((event) => event.kind === 'updated').map((event) => event.kind === 'updated' ? event.message : undefined)
  assert.deepEqual(updated, [await store.message('u', 3)], 'seq 1 is trimmed: only 3 goes out')
})
