import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import BetterSqlite3 from 'better-sqlite3'
import type { ChatStore } from '../../../src/engine/types.ts'
import { SCHEMA_VERSION } from '../../../src/engine/local/migrations.ts'
import { createSqliteStore } from '../../../src/engine/local/sqlite-store.ts'
import { editsStorage } from '../../../src/features/message-edits/storage.ts'
import { tempDir } from '../../helper.ts'
import { appendMany, range, seqs } from '../store-engines.ts'

/** A store on a fresh file in a temporary directory, closed when the test ends. */
function openStore (t: TestContext, path = join(tempDir(t), 'chat.sqlite'), defaultHistoryLimit = 1000, clientIdTtlMs?: number): ChatStore {
  const store = createSqliteStore({ path, defaultHistoryLimit, clientIdTtlMs })
  t.after(() => store.close())
  return store
}

test('seq is per room', async (t) => {
  const store = openStore(t)
  await store.createRoom({ id: 'a' })
  await store.createRoom({ id: 'b' })
  assert.equal((await store.append('a', 'u', 'x')).message.seq, 1)
  assert.equal((await store.append('a', 'u', 'x')).message.seq, 2)
  assert.equal((await store.append('b', 'u', 'x')).message.seq, 1)
  assert.equal(await store.latestSeq('a'), 2)
  assert.equal(await store.latestSeq('b'), 1)
  assert.equal(await store.latestSeq('nowhere'), 0)
})

test('concurrent appends spread over several event-loop turns stay gap-free', async (t) => {
  const store = openStore(t)
  await store.createRoom({ id: 'busy' })
  const pending = []
  for (let i = 0; i < 60; i++) {
    pending.push(store.append('busy', 'u', String(i)).then((appended) => appended.message))
    if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve))
  }
  const results = await Promise.all(pending)
  assert.deepEqual(seqs(results), range(1, 60))
  assert.deepEqual(seqs(await store.history('busy', 100)), range(1, 60))
})

test('ready() answers true while open; append after close rejects', async (t) => {
  const store = createSqliteStore({ path: join(tempDir(t), 'x.sqlite'), defaultHistoryLimit: 10 })
  await store.createRoom({ id: 'r' })
  assert.equal(await store.ready(), true)
  const pending = store.append('r', 'u', 'flushed by close').then((appended) => appended.message)
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
  assert.equal((await second.append('kept', 'bob', 'after reopen')).message.seq, 7)
  await second.close()

  const check = new BetterSqlite3(path, { readonly: true })
  assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION, 'reopening does not migrate again')
  check.close()
})

/**
 * Turns a file of this release back into the schema of an earlier one: the core's version
 * `version` (messages with the edit columns, no features' fields, no feature versions), and
 * optionally the index on send times that version 6 dropped.
 */
function rewind (path: string, version: number, options: { sendsIndex?: boolean } = {}): void {
  const db = new BetterSqlite3(path)
  db.exec('ALTER TABLE messages DROP COLUMN fields; DROP TABLE feature_versions; ALTER TABLE rooms DROP COLUMN slow_mode_ms; ALTER TABLE rooms DROP COLUMN retention_days; ALTER TABLE rooms DROP COLUMN seq_floor')
  const columns = (db.prepare('PRAGMA table_info(messages)').all() as { name: string }[]).map((column) => column.name)
  // A file the store wrote without the edits feature still has its columns.
  for (const [column, type] of [['version', 'INTEGER'], ['edited_at', 'TEXT'], ['deleted_at', 'TEXT']]) {
    if (!columns.includes(column!)) db.exec(`ALTER TABLE messages ADD COLUMN ${column} ${type}`)
  }
  if (options.sendsIndex === true) db.exec('CREATE INDEX sends_by_time ON sends (time)')
  db.pragma(`user_version = ${version}`)
  db.close()
}

test('a file of the release with the index on send times upgrades in place and keeps its clientIds', async (t) => {
  const path = join(tempDir(t), 'chat.sqlite')
  const first = createSqliteStore({ path, defaultHistoryLimit: 100 })
  await first.createRoom({ id: 'kept' })
  const sent = await first.append('kept', 'alice', 'hello', { clientId: 'key-1' })
  await first.close()
  rewind(path, 5, { sendsIndex: true })

  const second = openStore(t, path, 100)
  const repeat = await second.append('kept', 'alice', 'hello', { clientId: 'key-1' })
  assert.equal(repeat.duplicate, true, 'the clientId is still remembered')
  assert.equal(repeat.message.id, sent.message.id)
  assert.equal((await second.getRoom('kept'))!.slowModeMs, 0, 'a room of an older file has no slow mode')
  const check = new BetterSqlite3(path, { readonly: true })
  t.after(() => check.close())
  assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION)
  assert.equal(check.prepare("SELECT name FROM sqlite_master WHERE name = 'sends_by_time'").get(), undefined)
})

test('a file of the release before feature modules keeps its edits and deletes: their columns move into the message\'s fields', async (t) => {
  const path = join(tempDir(t), 'chat.sqlite')
  const first = createSqliteStore({ path, defaultHistoryLimit: 100 })
  await first.createRoom({ id: 'kept' })
  for (const text of ['one', 'two', 'three']) await first.append('kept', 'alice', text)
  await first.close()
  rewind(path, 6)
  const db = new BetterSqlite3(path)
  db.prepare("UPDATE messages SET text = 'one, fixed', version = 2, edited_at = '2026-01-02T03:04:05.000Z', changed_seq = 3 WHERE seq = 1").run()
  db.prepare("UPDATE messages SET text = '', deleted_at = '2026-01-02T03:04:06.000Z', changed_seq = 3 WHERE seq = 2").run()
  db.close()

  const second = createSqliteStore({ path, defaultHistoryLimit: 100 })
  t.after(() => second.close())
  editsStorage.local(second.storage)
  assert.deepEqual((await second.history('kept', 10)).map(({ seq, text, version, editedAt, deleted, deletedAt }: Record<string, unknown>) =>
    ({ seq, text, version, editedAt, deleted, deletedAt })), [
    { seq: 1, text: 'one, fixed', version: 2, editedAt: '2026-01-02T03:04:05.000Z', deleted: undefined, deletedAt: undefined },
    { seq: 2, text: '', version: undefined, editedAt: undefined, deleted: true, deletedAt: '2026-01-02T03:04:06.000Z' },
    { seq: 3, text: 'three', version: undefined, editedAt: undefined, deleted: undefined, deletedAt: undefined }
  ])
  assert.deepEqual((await second.recover('kept', 3)).changed.map((m) => m.seq), [1, 2], 'the changes are still replayed')
  const columns = new BetterSqlite3(path, { readonly: true })
  t.after(() => columns.close())
  const names = (columns.prepare('PRAGMA table_info(messages)').all() as { name: string }[]).map((column) => column.name)
  assert.ok(!names.includes('version') && !names.includes('edited_at') && !names.includes('deleted_at'), names.join(', '))
})

test('a file whose schema of a feature is newer than this release knows is refused, naming CHAT_DB and the feature', async (t) => {
  const path = join(tempDir(t), 'chat.sqlite')
  const first = createSqliteStore({ path, defaultHistoryLimit: 10 })
  editsStorage.local(first.storage)
  await first.close()
  const db = new BetterSqlite3(path)
  db.prepare("UPDATE feature_versions SET version = version + 1 WHERE feature = 'message-edits'").run()
  db.close()
  const second = createSqliteStore({ path, defaultHistoryLimit: 10 })
  t.after(() => second.close())
  assert.throws(() => editsStorage.local(second.storage), (err: Error) => /CHAT_DB/.test(err.message) && /message-edits/.test(err.message))
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

/** How many times the WAL file has been started over: the checkpoint sequence in its header. */
const walRestarts = (path: string) => readFileSync(`${path}-wal`).readUInt32BE(12)

test('under steady writes the WAL is still started over after checkpoints, so the file does not grow without end', async (t) => {
  const path = join(tempDir(t), 'chat.sqlite')
  const store = createSqliteStore({ path, defaultHistoryLimit: 1000, checkpointIntervalMs: 100 })
  t.after(() => store.close())
  await store.createRoom({ id: 'busy' })
  const before = walRestarts(path)
  // One commit after another with no pause: a checkpoint pass always has a commit landing
  // under it, so only the pass made with writes held lets SQLite start the file over.
  const until = Date.now() + 1500
  for (let sent = 0; sent < 100_000 && Date.now() < until; sent++) await store.append('busy', 'u', `message ${sent}`)
  assert.ok(walRestarts(path) - before >= 2, `the WAL restarted ${walRestarts(path) - before} times in 1.5 s of writes`)
  assert.equal((await store.history('busy', 1))[0]!.seq, await store.latestSeq('busy'))
})

test('expired clientIds are swept from the table a few per new one, with no index on time', async (t) => {
  const path = join(tempDir(t), 'chat.sqlite')
  const store = openStore(t, path, 1000, 200)
  await store.createRoom({ id: 'keys' })
  const reader = new BetterSqlite3(path, { readonly: true })
  t.after(() => reader.close())
  const remembered = () => reader.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM sends').get()!.n
  assert.equal(reader.prepare("SELECT name FROM sqlite_master WHERE name = 'sends_by_time'").get(), undefined)
  for (let i = 0; i < 6; i++) await store.append('keys', 'alice', `early ${i}`, { clientId: `early-${i}` })
  assert.equal(remembered(), 6, 'nothing was due: every clientId is kept')
  await sleep(250)
  await store.append('keys', 'alice', 'late 0', { clientId: 'late-0' })
  assert.equal(remembered(), 3, 'the first new clientId after the expiry looks at four rows and forgets them')
  await store.append('keys', 'alice', 'late 1', { clientId: 'late-1' })
  assert.equal(remembered(), 2, 'the next one forgets the last two expired ones')
  assert.equal((await store.append('keys', 'alice', 'again', { clientId: 'early-0' })).duplicate, false, 'an expired clientId is a new message')
  assert.equal((await store.append('keys', 'alice', 'again', { clientId: 'late-0' })).duplicate, true, 'a live one is still a repeat')
})

test('a clientId past its time to live that the sweep has not reached is a new message', async (t) => {
  const store = openStore(t, undefined, 1000, 200)
  await store.createRoom({ id: 'keys' })
  const first = []
  for (let i = 0; i < 10; i++) first.push(await store.append('keys', 'alice', `a ${i}`, { clientId: `a-${i}` }))
  await sleep(250)
  await store.append('keys', 'alice', 'z', { clientId: 'z-0' }) // sweeps a-0 to a-3 only
  const again = await store.append('keys', 'alice', 'a 9 again', { clientId: 'a-9' })
  assert.equal(again.duplicate, false)
  assert.equal(again.message.seq, 12)
  const repeat = await store.append('keys', 'alice', 'a 9 again', { clientId: 'a-9' })
  assert.equal(repeat.duplicate, true, 'the key remembered again answers for the new message')
  assert.equal(repeat.message.seq, 12)
  assert.notEqual(repeat.message.id, first[9]!.message.id)
})

/** A thread's nice value (Linux): field 19 of its stat, the fields counted after the command name. */
const niceOf = (stat: string) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])

/** The nice value of each of this process's threads. */
function threadNiceValues (): number[] {
  return readdirSync('/proc/self/task').flatMap((task) => {
    try {
      return [niceOf(readFileSync(`/proc/self/task/${task}/stat`, 'utf8'))]
    } catch {
      return [] // the thread ended while we looked
    }
  })
}

test('the checkpoint thread runs at a lower priority than the event loop (Linux)', { skip: process.platform !== 'linux' && 'nice is per thread on Linux only' }, async (t) => {
  const lowered = () => threadNiceValues().filter((nice) => nice > 0).length
  const before = lowered()
  openStore(t)
  for (let tries = 0; tries < 250 && lowered() === before; tries++) await sleep(20)
  assert.equal(lowered(), before + 1, 'one more thread with a positive nice value: the checkpoint thread')
  assert.equal(niceOf(readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')), 0, 'the main thread keeps its priority')
})

test(':memory: works without a directory', async (t) => {
  const store = createSqliteStore({ path: ':memory:', defaultHistoryLimit: 10 })
  t.after(() => store.close())
  await store.createRoom({ id: 'm' })
  assert.equal((await store.append('m', 'u', 'x')).message.seq, 1)
})
