import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import { NotFoundError, type ChatStore } from '../../src/engine/types.ts'
import { SCHEMA_VERSION } from '../../src/storage/migrations.ts'
import { createSqliteStore } from '../../src/storage/sqlite-store.ts'
import { tempDir } from '../helper.ts'

/** A store on a fresh file in a temporary directory, closed when the test ends. */
function openStore (t: TestContext, path = join(tempDir(t), 'chat.sqlite'), defaultHistoryLimit = 1000): ChatStore {
  const store = createSqliteStore({ path, defaultHistoryLimit })
  t.after(() => store.close())
  return store
}

async function appendMany (store: ChatStore, room: string, count: number) {
  const messages = []
  for (let i = 1; i <= count; i++) messages.push(await store.append(room, 'alice', `m${i}`))
  return messages
}

const seqs = (messages: { seq: number }[]) => messages.map((m) => m.seq)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

test('a room\'s seq starts at 1 and the stored message is what append resolved with', async (t) => {
  const store = openStore(t)
  await store.createRoom({ id: 'lobby' })
  assert.equal(await store.latestSeq('lobby'), 0)
  const first = await store.append('lobby', 'alice', 'hello')
  assert.equal(first.seq, 1)
  assert.equal(first.room, 'lobby')
  assert.equal(first.user, 'alice')
  assert.equal(first.text, 'hello')
  assert.equal(typeof first.id, 'string')
  assert.ok(!Number.isNaN(Date.parse(first.time)), `time is ISO 8601: ${first.time}`)
  assert.equal(new Date(first.time).toISOString(), first.time)
  const second = await store.append('lobby', 'bob', 'hi')
  assert.equal(second.seq, 2)
  assert.notEqual(second.id, first.id)
  assert.equal(await store.latestSeq('lobby'), 2)
  assert.deepEqual(await store.history('lobby', 50), [first, second])
})

test('seq is per room', async (t) => {
  const store = openStore(t)
  await store.createRoom({ id: 'a' })
  await store.createRoom({ id: 'b' })
  assert.equal((await store.append('a', 'u', 'x')).seq, 1)
  assert.equal((await store.append('a', 'u', 'x')).seq, 2)
  assert.equal((await store.append('b', 'u', 'x')).seq, 1)
  assert.equal(await store.latestSeq('a'), 2)
  assert.equal(await store.latestSeq('b'), 1)
  assert.equal(await store.latestSeq('nowhere'), 0)
})

test('300 concurrent appends to several rooms get gap-free, unique seqs in each room', async (t) => {
  const store = openStore(t)
  const rooms = ['r1', 'r2', 'r3', 'r4']
  for (const id of rooms) await store.createRoom({ id })
  const results = await Promise.all(Array.from({ length: 300 }, (_, i) => {
    const room = rooms[i % rooms.length]!
    return store.append(room, `u${i % 7}`, `text ${i}`)
  }))
  const ids = new Set(results.map((m) => m.id))
  assert.equal(ids.size, 300, 'every id is unique')
  for (const room of rooms) {
    const mine = results.filter((m) => m.room === room)
    assert.deepEqual(seqs(mine).sort((a, b) => a - b), range(1, mine.length), `room ${room} seqs are 1..n`)
    // Appends are ordered: within a room, seq follows call order.
    assert.deepEqual(seqs(mine), range(1, mine.length))
    assert.equal(await store.latestSeq(room), mine.length)
    const stored = await store.history(room, 100)
    assert.deepEqual(stored, mine, `room ${room} stored exactly what was acknowledged`)
  }
})

test('concurrent appends spread over several event-loop turns stay gap-free', async (t) => {
  const store = openStore(t)
  await store.createRoom({ id: 'busy' })
  const pending = []
  for (let i = 0; i < 60; i++) {
    pending.push(store.append('busy', 'u', String(i)))
    if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve))
  }
  const results = await Promise.all(pending)
  assert.deepEqual(seqs(results), range(1, 60))
  assert.deepEqual(seqs(await store.history('busy', 100)), range(1, 60))
})

test('a room keeps exactly its newest historyLimit messages', async (t) => {
  const store = openStore(t, undefined, 5)
  await store.createRoom({ id: 'small', historyLimit: 3 })
  await store.createRoom({ id: 'default' })
  await appendMany(store, 'small', 10)
  await appendMany(store, 'default', 8)
  assert.deepEqual(seqs(await store.history('small', 100)), [8, 9, 10])
  assert.deepEqual(seqs(await store.history('default', 100)), [4, 5, 6, 7, 8], 'the default limit applies')
  assert.equal(await store.latestSeq('small'), 10, 'trimming does not reset seq')
  assert.equal((await store.append('small', 'u', 'next')).seq, 11)
})

test('trimming applies within one batch of concurrent appends', async (t) => {
  const store = openStore(t)
  await store.createRoom({ id: 'burst', historyLimit: 4 })
  await Promise.all(Array.from({ length: 20 }, (_, i) => store.append('burst', 'u', String(i))))
  assert.deepEqual(seqs(await store.history('burst', 100)), [17, 18, 19, 20])
})

test('lowering historyLimit trims at once; null returns to the default', async (t) => {
  const store = openStore(t, undefined, 6)
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
})

test('history: newest `limit` messages, or those below `before`, always ascending', async (t) => {
  const store = openStore(t)
  await store.createRoom({ id: 'h' })
  await appendMany(store, 'h', 12)
  assert.deepEqual(seqs(await store.history('h', 5)), [8, 9, 10, 11, 12])
  assert.deepEqual(seqs(await store.history('h', 50)), range(1, 12))
  assert.deepEqual(seqs(await store.history('h', 3, 8)), [5, 6, 7])
  assert.deepEqual(seqs(await store.history('h', 10, 4)), [1, 2, 3])
  assert.deepEqual(seqs(await store.history('h', 10, 1)), [])
  assert.deepEqual(seqs(await store.history('h', 2, 100)), [11, 12], 'before past the end means the newest')
  assert.deepEqual(await store.history('empty-or-missing', 10), [])
  // Paging backwards with `before` visits every message once.
  const seen: number[] = []
  let before: number | undefined
  for (let page = 0; page < 10; page++) {
    const messages = await store.history('h', 5, before)
    if (messages.length === 0) break
    seen.unshift(...seqs(messages))
    before = messages[0]!.seq
  }
  assert.deepEqual(seen, range(1, 12))
})

test('recover: messages after since, latestSeq, and whether history reached back', async (t) => {
  const store = openStore(t)
  await store.createRoom({ id: 'rec', historyLimit: 5 })
  await store.createRoom({ id: 'quiet' })

  assert.deepEqual(await store.recover('quiet', 0), { latestSeq: 0, messages: [], recovered: true })

  await appendMany(store, 'rec', 8) // keeps 4..8
  const full = await store.recover('rec', 5)
  assert.equal(full.latestSeq, 8)
  assert.equal(full.recovered, true)
  assert.deepEqual(seqs(full.messages), [6, 7, 8])

  const edge = await store.recover('rec', 3)
  assert.equal(edge.recovered, true, 'the oldest kept message is since + 1')
  assert.deepEqual(seqs(edge.messages), [4, 5, 6, 7, 8])

  const gap = await store.recover('rec', 1)
  assert.equal(gap.recovered, false, 'messages 2 and 3 were trimmed')
  assert.equal(gap.latestSeq, 8)
  assert.deepEqual(seqs(gap.messages), [4, 5, 6, 7, 8])

  const upToDate = await store.recover('rec', 8)
  assert.deepEqual(upToDate, { latestSeq: 8, messages: [], recovered: true })

  const ahead = await store.recover('rec', 20)
  assert.equal(ahead.recovered, false, 'a since beyond the room\'s seq cannot be honoured')
  assert.equal(ahead.latestSeq, 8)
  assert.deepEqual(ahead.messages, [])

  const missing = await store.recover('missing', 3)
  assert.equal(missing.recovered, false)
  assert.equal(missing.latestSeq, 0)
})

test('rooms: create, conflict, get, list by id with paging, update, delete', async (t) => {
  const store = openStore(t)
  const created = await store.createRoom({ id: 'b-room', name: 'B', private: true, historyLimit: 10 })
  assert.equal(created?.id, 'b-room')
  assert.equal(created?.name, 'B')
  assert.equal(created?.private, true)
  assert.equal(created?.historyLimit, 10)
  assert.ok(!Number.isNaN(Date.parse(created!.createdAt)))
  assert.equal(await store.createRoom({ id: 'b-room', name: 'again' }), undefined, 'an existing id is not replaced')
  assert.equal((await store.getRoom('b-room'))?.name, 'B')

  const plain = await store.createRoom({ id: 'a-room' })
  assert.deepEqual(plain, { id: 'a-room', name: 'a-room', private: false, historyLimit: null, createdAt: plain!.createdAt })
  assert.deepEqual(await store.getRoom('a-room'), plain)
  assert.equal(await store.getRoom('none'), undefined)

  await store.createRoom({ id: 'c-room' })
  const first = await store.listRooms(2)
  assert.deepEqual(first.rooms.map((r) => r.id), ['a-room', 'b-room'])
  assert.equal(first.hasMore, true)
  const second = await store.listRooms(2, 'b-room')
  assert.deepEqual(second.rooms.map((r) => r.id), ['c-room'])
  assert.equal(second.hasMore, false)
  const exact = await store.listRooms(3)
  assert.equal(exact.hasMore, false, 'no more when the page holds exactly the rest')

  const updated = await store.updateRoom('a-room', { name: 'Renamed', private: true })
  assert.equal(updated?.name, 'Renamed')
  assert.equal(updated?.private, true)
  assert.equal(updated?.createdAt, plain!.createdAt)
  assert.deepEqual(await store.getRoom('a-room'), updated)
  const unchanged = await store.updateRoom('a-room', {})
  assert.deepEqual(unchanged, updated)
  assert.equal(await store.updateRoom('none', { name: 'x' }), undefined)

  assert.equal(await store.deleteRoom('a-room'), true)
  assert.equal(await store.deleteRoom('a-room'), false)
  assert.equal(await store.getRoom('a-room'), undefined)
  assert.deepEqual((await store.listRooms(10)).rooms.map((r) => r.id), ['b-room', 'c-room'])
})

test('deleting a room deletes its messages and grants; recreating starts at seq 1', async (t) => {
  const store = openStore(t)
  await store.createRoom({ id: 'gone' })
  await appendMany(store, 'gone', 3)
  await store.setGrant('gone', 'alice')
  assert.equal(await store.deleteRoom('gone'), true)
  assert.deepEqual(await store.history('gone', 10), [])
  await store.createRoom({ id: 'gone' })
  assert.equal(await store.hasGrant('gone', 'alice'), false)
  assert.equal(await store.latestSeq('gone'), 0)
  assert.equal((await store.append('gone', 'u', 'again')).seq, 1)
})

test('grants: set is idempotent, delete revokes, per room and per user', async (t) => {
  const store = openStore(t)
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
  await assert.rejects(store.setGrant('no-such-room', 'alice'), 'a grant needs an existing room')
})

test('append to a missing or deleted room rejects with NotFoundError; other appends in the batch succeed', async (t) => {
  const store = openStore(t)
  await assert.rejects(store.append('never', 'u', 'x'), NotFoundError)
  await store.createRoom({ id: 'doomed' })
  await store.createRoom({ id: 'fine' })
  await store.append('doomed', 'u', 'before')
  await store.deleteRoom('doomed')
  await assert.rejects(store.append('doomed', 'u', 'after'), NotFoundError)

  await store.createRoom({ id: 'doomed' })
  const racing = store.append('doomed', 'u', 'queued before the delete')
  const neighbour = store.append('fine', 'u', 'same batch')
  await store.deleteRoom('doomed')
  await assert.rejects(racing, NotFoundError)
  assert.equal((await neighbour).seq, 1)
})

test('ready() answers true while open; append after close rejects', async (t) => {
  const store = createSqliteStore({ path: join(tempDir(t), 'x.sqlite'), defaultHistoryLimit: 10 })
  await store.createRoom({ id: 'r' })
  assert.equal(await store.ready(), true)
  const pending = store.append('r', 'u', 'flushed by close')
  await store.close()
  assert.equal((await pending).seq, 1, 'a pending append is written before the file closes')
  await assert.rejects(store.append('r', 'u', 'late'))
  await store.close() // a second close is harmless
})

test('reopening an existing file keeps rooms, grants, messages, seq and user_version', async (t) => {
  const path = join(tempDir(t), 'nested', 'dir', 'chat.sqlite')
  const first = createSqliteStore({ path, defaultHistoryLimit: 100 })
  await first.createRoom({ id: 'kept', name: 'Kept', private: true, historyLimit: 4 })
  await first.setGrant('kept', 'alice')
  const written = await appendMany(first, 'kept', 6)
  await first.close()

  const db = new BetterSqlite3(path, { readonly: true })
  const version = db.pragma('user_version', { simple: true })
  db.close()
  assert.equal(version, SCHEMA_VERSION)
  assert.ok(SCHEMA_VERSION >= 1)

  const second = openStore(t, path, 100)
  const room = await second.getRoom('kept')
  assert.equal(room?.name, 'Kept')
  assert.equal(room?.private, true)
  assert.equal(room?.historyLimit, 4)
  assert.equal(await second.hasGrant('kept', 'alice'), true)
  assert.deepEqual(await second.history('kept', 100), written.slice(2))
  assert.equal(await second.latestSeq('kept'), 6)
  assert.equal((await second.append('kept', 'bob', 'after reopen')).seq, 7)
  await second.close()

  const check = new BetterSqlite3(path, { readonly: true })
  assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION, 'reopening does not migrate again')
  check.close()
})

test('a file written by a newer release is refused with a message naming CHAT_DB', async (t) => {
  const path = join(tempDir(t), 'future.sqlite')
  const db = new BetterSqlite3(path)
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
  db.close()
  assert.throws(
    () => createSqliteStore({ path, defaultHistoryLimit: 10 }),
    (err: Error) => err.message.includes('CHAT_DB') && err.message.includes(String(SCHEMA_VERSION + 1))
  )
  const after = new BetterSqlite3(path, { readonly: true })
  assert.equal(after.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1, 'the file is left as it was')
  after.close()
})

test(':memory: works without a directory', async (t) => {
  const store = createSqliteStore({ path: ':memory:', defaultHistoryLimit: 10 })
  t.after(() => store.close())
  await store.createRoom({ id: 'm' })
  assert.equal((await store.append('m', 'u', 'x')).seq, 1)
})
