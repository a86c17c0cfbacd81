import assert from 'node:assert/strict'
import { test } from 'node:test'
import { configFrom, ConfigError } from '../../src/config.ts'
import { engineTest, historyInDatabase } from '../engines.ts'
import { connectAs, http } from '../helper.ts'

engineTest('historyLimit 0 keeps every message where history is in a database; Redis alone refuses it with the reason', async (start, t, engine) => {
  const server = await start({ CHAT_HISTORY_LIMIT: 3 })
  const created = await http(server.url, 'POST', '/rooms', { id: 'all', historyLimit: 0 })
  if (!historyInDatabase(engine)) {
    assert.equal(created.status, 400)
    assert.match(created.body.message, /historyLimit 0 \(keep every message\) and retentionDays need history in a database; on Redis alone history lives in memory/)
    assert.equal((await http(server.url, 'POST', '/rooms', { id: 'all' })).status, 201)
    const patched = await http(server.url, 'PATCH', '/rooms/all', { historyLimit: 0 })
    assert.equal(patched.status, 400)
    assert.equal((await http(server.url, 'GET', '/rooms/all')).body.historyLimit, 3, 'unchanged')
    return
  }
  assert.equal(created.status, 201)
  assert.equal(created.body.historyLimit, 0)
  const alice = await connectAs(t, server, 'alice')
  await alice.join('all')
  await alice.join('bounded')
  for (let i = 1; i <= 10; i++) {
    await alice.request({ type: 'message', room: 'all', text: `kept ${i}` })
    await alice.request({ type: 'message', room: 'bounded', text: `maybe ${i}` })
  }
  const history = async (room: string) => (await http(server.url, 'GET', `/rooms/${room}/messages?limit=100`)).body.messages.map((m: { seq: number }) => m.seq)
  assert.deepEqual(await history('all'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'every message')
  assert.deepEqual(await history('bounded'), [8, 9, 10], 'the default limit elsewhere')
  const late = await connectAs(t, server, 'late')
  const joined = await late.request({ type: 'join', room: 'all', since: 0 })
  assert.equal(joined.recovered, true)
  assert.equal(late.frames.filter((frame) => frame.type === 'message').length, 10, 'a join with since 0 replays all of it')
  assert.equal((await http(server.url, 'PATCH', '/rooms/all', { historyLimit: 4 })).body.historyLimit, 4)
  assert.deepEqual(await history('all'), [7, 8, 9, 10], 'a limit set later trims at once')
  assert.equal((await http(server.url, 'PATCH', '/rooms/all', { historyLimit: 0 })).body.historyLimit, 0)
  await alice.request({ type: 'message', room: 'all', text: 'kept 11' })
  assert.deepEqual(await history('all'), [7, 8, 9, 10, 11])
})

engineTest('CHAT_HISTORY_LIMIT=0: rooms without a limit of their own keep every message (SQLite, PostgreSQL)', async (start, t, engine) => {
  if (!historyInDatabase(engine)) return
  const server = await start({ CHAT_HISTORY_LIMIT: 0 })
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  for (let i = 0; i < 30; i++) await alice.request({ type: 'message', room: 'lobby', text: `m${i}` })
  assert.equal((await http(server.url, 'GET', '/rooms/lobby')).body.historyLimit, 0)
  assert.equal((await http(server.url, 'GET', '/rooms/lobby/messages?limit=100')).body.messages.length, 30)
})

test('CHAT_HISTORY_LIMIT=0 on Redis alone is refused at start-up, saying why', () => {
  for (const redis of [{ REDIS_URL: 'redis://127.0.0.1:6379' }, { REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_NAME: 'chat' }]) {
    assert.throws(() => configFrom({ ...redis, CHAT_HISTORY_LIMIT: 0 }), (err: unknown) => err instanceof ConfigError &&
      /^CHAT_HISTORY_LIMIT: 0 \(keep every message\) needs history in a database; on Redis alone history lives in memory/.test(err.message))
  }
  assert.equal(configFrom({ CHAT_HISTORY_LIMIT: 0 }).CHAT_HISTORY_LIMIT, 0)
  assert.equal(configFrom({ REDIS_URL: 'redis://127.0.0.1:6379', CHAT_DATABASE_URL: 'postgres://127.0.0.1/chat', CHAT_HISTORY_LIMIT: 0 }).CHAT_HISTORY_LIMIT, 0,
    'with PostgreSQL, Redis only carries events')
  assert.throws(() => configFrom({ CHAT_HISTORY_LIMIT: -1 }), /CHAT_HISTORY_LIMIT: invalid value "-1"; expected an integer of at least 0/)
})
