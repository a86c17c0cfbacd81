import { createECDH, randomBytes } from 'node:crypto'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { parseArgs } from '../../src/cli/move-to-postgres.ts'
import { moveToPostgres } from '../../src/cli/move/move.ts'
import { MoveError } from '../../src/cli/move/source.ts'
import { connectAs, eventually, type Frame, http, type Overrides, ROOT, startServer, tempDir, type TestServer } from '../helper.ts'
import { startPostgres } from '../postgres-helper.ts'
import { type Layout, LAYOUTS, startRedisTarget } from '../redis-layouts.ts'
import { type Receiver, startReceiver, webhookConfig } from '../webhooks/receiver.ts'

const COMMAND = join(ROOT, 'src/cli/move-to-postgres.ts')

interface Run { code: number | null, stdout: string, stderr: string }

/** Runs the command as an operator would, in a process of its own. */
function move (...args: string[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', COMMAND, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000)
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer)
    resolve({ code, stdout, stderr })
  }))
}

/** What the deployment made through the service: the seqs and rooms the checks name. */
interface Made { first: number, reply: number, edited: number, deleted: number, read: number, latest: number, dm: string }

/**
 * Data of every kind, made through the service: a public and a private room with a grant,
 * messages with clientIds, an edit, a delete, reactions, a reply, a mention, a read position,
 * a role, a mute, a report and a direct message.
 */
async function makeData (t: TestContext, server: TestServer): Promise<Made> {
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'lobby', name: 'The lobby' })).status, 201)
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'staff', private: true, historyLimit: 50 })).status, 201)
  assert.equal((await http(server.url, 'PUT', '/rooms/staff/grants/alice')).status, 204)
  assert.equal((await http(server.url, 'PUT', '/rooms/lobby/roles/mod', { role: 'moderator' })).status, 204)
  assert.equal((await http(server.url, 'PUT', '/rooms/lobby/mutes/carol', { durationMs: 3_600_000, reason: 'noise' })).status, 204)
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  await alice.join('lobby')
  await bob.join('lobby')
  const first = await alice.request({ type: 'message', room: 'lobby', text: 'the pineapple question', clientId: 'c-1' })
  const reply = await bob.request({ type: 'message', room: 'lobby', text: '@alice an answer', replyTo: first.seq, clientId: 'b-1' })
  const edited = await alice.request({ type: 'message', room: 'lobby', text: 'a typo hree', clientId: 'c-2' })
  assert.equal((await alice.request({ type: 'edit', room: 'lobby', seq: edited.seq, text: 'a typo here' })).type, 'ack')
  const deleted = await bob.request({ type: 'message', room: 'lobby', text: 'regrets' })
  assert.equal((await bob.request({ type: 'delete', room: 'lobby', seq: deleted.seq })).type, 'ack')
  assert.equal((await bob.request({ type: 'react', room: 'lobby', seq: first.seq, emoji: '👍' })).type, 'ack')
  assert.equal((await alice.request({ type: 'react', room: 'lobby', seq: first.seq, emoji: '🎉' })).type, 'ack')
  assert.equal((await bob.request({ type: 'react', room: 'lobby', seq: first.seq, emoji: '🎉' })).type, 'ack')
  // bob's own messages moved his read seq to 4; he reads one more, and one stays unread.
  const read = await alice.request({ type: 'message', room: 'lobby', text: 'read by bob' })
  const unread = await alice.request({ type: 'message', room: 'lobby', text: 'unread by bob' })
  bob.send({ type: 'read', room: 'lobby', seq: read.seq })
  await bob.next((frame) => frame.type === 'read' && frame.user === 'bob' && frame.seq === read.seq)
  assert.equal((await alice.request({ type: 'report', room: 'lobby', seq: reply.seq, reason: 'rude' })).type, 'ack')
  const dm = await alice.request({ type: 'open_dm', users: ['bob'] })
  assert.equal(dm.type, 'dm')
  await alice.join(dm.room)
  await alice.request({ type: 'message', room: dm.room, text: 'psst, bob' })
  await alice.join('staff')
  await alice.request({ type: 'message', room: 'staff', text: 'staff only' })
  const keys = { p256dh: createECDH('prime256v1').generateKeys().toString('base64url'), auth: randomBytes(16).toString('base64url') }
  assert.equal((await alice.request({ type: 'push_subscribe', subscription: { endpoint: 'https://push.example.com/alice', keys } })).type, 'ack')
  assert.equal((await alice.request({ type: 'notify', room: 'lobby', level: 'mentions' })).type, 'ack')
  alice.close()
  bob.close()
  return { first: first.seq, reply: reply.seq, edited: edited.seq, deleted: deleted.seq, read: read.seq, latest: unread.seq, dm: dm.room }
}

/** Drops what depends on the moment or on who is connected (online counts, an export's time). */
function steady (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(steady)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'online' && key !== 'exportedAt').map(([key, inner]) => [key, steady(inner)]))
}

/** Everything the deployment shows of its data, over REST and WebSocket. */
async function view (t: TestContext, server: TestServer, made: Made) {
  const get = async (path: string) => {
    const reply = await http(server.url, 'GET', path)
    assert.equal(reply.status, 200, `GET ${path}: ${reply.text}`)
    return steady(reply.body)
  }
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  const thread = await alice.request({ type: 'history', room: 'lobby', thread: made.first })
  alice.close()
  // A client that saw up to the delete comes back: the changes since (the delete, the reactions), then the newer messages.
  const back = await connectAs(t, server, 'zed')
  await back.join('lobby', { since: made.deleted })
  const recovery: Frame[] = []
  for (let frame = await back.next(); !(frame.type === 'message' && frame.seq === made.latest); frame = await back.next()) {
    if (frame.type === 'updated' || frame.type === 'message') recovery.push(frame)
  }
  back.close()
  assert.deepEqual(recovery.map((frame) => [frame.type, frame.message?.seq ?? frame.seq]), [['updated', made.first], ['updated', made.deleted], ['message', made.read]])
  return {
    rooms: await get('/rooms?limit=100'),
    lobby: await get('/rooms/lobby/messages?limit=100'),
    staff: await get('/rooms/staff/messages?limit=100'),
    dm: await get(`/rooms/${made.dm}/messages?limit=100`),
    thread: thread.messages as Frame[],
    recovery,
    reactions: await get(`/rooms/lobby/messages/${made.first}/reactions`),
    reads: await get('/rooms/lobby/reads'),
    roles: await get('/rooms/lobby/roles'),
    mutes: await get('/rooms/lobby/mutes'),
    reports: await get('/reports'),
    aliceRooms: await get('/users/alice/rooms'),
    bobRooms: await get('/users/bob/rooms'),
    bobUnread: await get('/users/bob/unread'),
    aliceExport: await get('/users/alice/export')
  }
}

/** The moved deployment behaves as the old one would have: seqs go on, clientIds are remembered, the mute holds, search finds. */
async function checkMoved (t: TestContext, server: TestServer, made: Made, latest: number): Promise<void> {
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  const mod = await connectAs(t, server, 'mod')
  const carol = await connectAs(t, server, 'carol')
  const joined = await bob.join('lobby')
  assert.equal(joined.seq, latest)
  assert.equal(joined.readSeq, made.read, "bob's read position")
  assert.equal((await mod.join('lobby')).role, 'moderator')
  await alice.join('lobby')
  const repeat = await alice.request({ type: 'message', room: 'lobby', text: 'the pineapple question', clientId: 'c-1' })
  assert.deepEqual([repeat.type, repeat.seq, repeat.duplicate], ['ack', made.first, true], 'a clientId sent before the move is recognised')
  const next = await alice.request({ type: 'message', room: 'lobby', text: 'first words on PostgreSQL' })
  assert.equal(next.seq, latest + 1, 'seqs go on from the latest')
  const live = await bob.next((frame) => frame.type === 'message' && frame.seq === next.seq)
  assert.equal(live.text, 'first words on PostgreSQL')
  await carol.join('lobby')
  assert.equal((await carol.request({ type: 'message', room: 'lobby', text: 'let me talk' })).code, 'forbidden', 'the mute holds')
  assert.equal((await bob.request({ type: 'join', room: 'staff' })).code, 'forbidden', 'no grant, no entry')
  await alice.join('staff')
  await bob.join(made.dm)
  const found = await http(server.url, 'GET', '/rooms/lobby/messages/search?q=pineap')
  assert.deepEqual(found.body.messages.map((message: Frame) => message.seq), [made.first], 'search finds a moved message')
  const edited = await http(server.url, 'GET', '/rooms/lobby/messages/search?q=here')
  assert.deepEqual(edited.body.messages.map((message: Frame) => message.seq), [made.edited], 'by its edited text')
}

/**
 * Makes data on a source server, stops it, moves it with the command, and checks a server on the
 * target shows the same and goes on from there; a second run is refused and leaves it as it is.
 */
async function moveAndCheck (t: TestContext, source: Overrides, from: string, options: { receiver?: Receiver } = {}): Promise<Run | undefined> {
  const postgres = await startPostgres(t)
  if (postgres === undefined) return undefined
  const to = await postgres.database()
  const hooks = options.receiver === undefined ? {} : webhookConfig([options.receiver])
  const old = await startServer(t, { ...source, ...hooks })
  const made = await makeData(t, old)
  const before = await view(t, old, made)
  await old.app.close()

  const moved = await move('--from', from, '--to', to)
  assert.equal(moved.code, 0, `${moved.stdout}${moved.stderr}`)
  assert.match(moved.stdout, /committed in [\d.]+ s: rooms 3, grants 3, messages 8, sends 3, read_state \d+, reactions 3, replies 1, mentions 1, room_sanctions 1, room_roles 1, reports 1, dm_users 2, push_subscriptions 1, push_levels 1/)
  const again = await move('--from', from, '--to', to)
  assert.equal(again.code, 1)
  assert.match(again.stderr, /^move-to-postgres: the target database already holds 3 room\(s\): move only into an empty database .*nothing was written\n$/)

  if (options.receiver !== undefined) options.receiver.answer = () => 204
  const target = await startServer(t, { CHAT_DATABASE_URL: to, ...hooks })
  const after = await view(t, target, made)
  assert.deepEqual(after, before)
  const lobby = before.lobby as { messages: Frame[] }
  assert.equal(lobby.messages.length, 6)
  assert.deepEqual(lobby.messages[made.deleted - 1]!.deleted, true)
  assert.equal(lobby.messages[made.edited - 1]!.version, 2)
  await checkMoved(t, target, made, lobby.messages.at(-1)!.seq)
  return moved
}

test('SQLite → PostgreSQL: every room, message, clientId and feature\'s data moves; the outbox\'s pending events are delivered from PostgreSQL', { timeout: 60_000 }, async (t) => {
  const file = join(tempDir(t), 'chat.sqlite')
  // A receiver that fails while the old deployment runs: its events wait in the outbox.
  const receiver = await startReceiver(t)
  receiver.answer = () => 503
  const moved = await moveAndCheck(t, { CHAT_DB: file }, file, { receiver })
  if (moved === undefined) return
  assert.match(moved.stdout, /webhook_outbox \d+/)
  assert.match(moved.stdout, /note: \d+ webhook event\(s\) not yet delivered .* are moved/)
  await eventually(() => receiver.delivered.some((event) => event.type === 'room.created' && event.room === 'staff'), 20_000,
    'an event recorded on SQLite delivered from PostgreSQL')
  const created = await receiver.waitFor(8, 'message.created')
  assert.ok(created.some((event) => event.data.text === 'the pineapple question'))
  receiver.assertAllValid()
})

for (const layout of LAYOUTS) {
  test(`Redis (${layout}) → PostgreSQL: every room, message, clientId and feature's data moves`, { timeout: 60_000 }, async (t) => {
    const redis = await startRedisTarget(t, layout as Layout)
    if (redis === undefined) return
    // Events recorded on Redis are not moved: the command says so.
    const receiver = await startReceiver(t)
    receiver.answer = () => 503
    const moved = await moveAndCheck(t, redis.config, redis.url, layout === 'standalone' ? { receiver } : {})
    if (moved === undefined) return
    assert.match(moved.stdout, new RegExp(`^from Redis${layout === 'cluster' ? ' Cluster' : ''} at redis://`, 'm'))
    if (layout === 'standalone') assert.match(moved.stdout, /note: \d+ webhook event\(s\) in the Redis outbox streams are not moved/)
  })
}

test('a source or target that cannot be used, or a copy that fails half-way, is refused in one line, exit code 1, nothing written', { timeout: 60_000 }, async (t) => {
  const postgres = await startPostgres(t)
  if (postgres === undefined) return
  const dir = tempDir(t)
  const junk = join(dir, 'junk.sqlite')
  writeFileSync(junk, 'not a database, only words that fill more than a header would '.repeat(20))
  const file = join(dir, 'chat.sqlite')
  const old = await startServer(t, { CHAT_DB: file })
  await http(old.url, 'POST', '/rooms', { id: 'lobby' })
  await old.app.close()
  const to = await postgres.database()

  // As a process: one line on stderr, exit code 1.
  const notDatabase = await move('--from', junk, '--to', to)
  assert.equal(notDatabase.code, 1, notDatabase.stderr)
  assert.equal(notDatabase.stdout, '')
  assert.match(notDatabase.stderr, /^move-to-postgres: cannot \w+ the SQLite file [^\n]*junk\.sqlite: file is not a database\n$/)
  assert.deepEqual(parseArgs(['--from', file]), '--to is missing')
  assert.deepEqual(parseArgs(['--from', file, '--to=postgres://h/db']), { from: file, to: 'postgres://h/db' })

  // The same refusals the command prints, in this process (each a process of its own would cost seconds).
  const refused = async (from: string, target: string, message: RegExp) => {
    const lines: string[] = []
    await assert.rejects(moveToPostgres({ from, to: target, out: (line) => lines.push(line) }), (err: Error) => {
      assert.ok(err instanceof MoveError, String(err))
      assert.match(err.message, message)
      assert.ok(!err.message.includes('\n'), 'one line')
      return true
    })
    return lines
  }
  await refused(join(dir, 'missing.sqlite'), to, /^--from: no such file .*missing\.sqlite/)
  await refused('redis://127.0.0.1:1', to, /^cannot reach Redis at redis:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/)
  await refused('http://example.com/chat', to, /^--from: http:\/\/ is not a source/)
  await refused(file, 'mysql://somewhere/chat', /^--to: expected a postgres:\/\/ URL, got mysql:/)
  const unreachable = await refused(file, 'postgres://postgres:secret@127.0.0.1:1/chat', /^cannot reach PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/chat: connect ECONNREFUSED/)
  assert.match(unreachable[0]!, /^from SQLite file /)

  // A copy that fails half-way (a message whose fields PostgreSQL refuses, after its room went in) leaves nothing.
  const sqlite = new BetterSqlite3(file)
  sqlite.prepare("INSERT INTO messages (room, seq, id, user, text, time, fields) VALUES ('lobby', 1, 'x', 'alice', 'hi', ?, 'not json')").run(new Date().toISOString())
  await refused(file, to, /^PostgreSQL at postgres:\/\/.* refused: invalid input syntax for type json/)
  const client = new pg.Client({ connectionString: to })
  await client.connect()
  t.after(() => client.end())
  assert.deepEqual((await client.query('SELECT COUNT(*)::int AS n FROM rooms')).rows, [{ n: 0 }], 'rolled back')
  sqlite.prepare('UPDATE messages SET fields = NULL').run()
  sqlite.close()

  // Nothing of a refused or failed run reached the target: a run that works finds it empty.
  const lines: string[] = []
  const counts = await moveToPostgres({ from: file, to, out: (line) => lines.push(line) })
  assert.deepEqual([...counts], [['rooms', 1], ['messages', 1]])
  assert.match(lines.join('\n'), /committed in [\d.]+ s: rooms 1, messages 1\n/)
  assert.deepEqual((await client.query('SELECT room, seq::int, user_id, text, fields FROM messages')).rows, [{ room: 'lobby', seq: 1, user_id: 'alice', text: 'hi', fields: null }])
})
