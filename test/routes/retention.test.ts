import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { configFrom, ConfigError } from '../../src/config.ts'
import { engineTest, historyInDatabase } from '../engines.ts'
import { startPostgres } from '../postgres-helper.ts'
import { eventually, http, startServer, tempDir } from '../helper.ts'

/** A period of `seconds`, in days. */
const days = (seconds: number) => seconds / 86_400

const texts = async (url: string, room: string) => (await http(url, 'GET', `/rooms/${room}/messages?limit=100`)).body.messages.map((m: { text: string }) => m.text)

engineTest('retention by age removes messages older than the period within 5 s, where history is in a database; Redis alone refuses it', async (start, _t, engine) => {
  if (!historyInDatabase(engine)) {
    const server = await start()
    const refused = await http(server.url, 'POST', '/rooms', { id: 'short', retentionDays: 1 })
    assert.equal(refused.status, 400)
    assert.match(refused.body.message, /retentionDays need history in a database; on Redis alone history lives in memory/)
    await http(server.url, 'POST', '/rooms', { id: 'short' })
    assert.equal((await http(server.url, 'PATCH', '/rooms/short', { retentionDays: 2 })).status, 400)
    assert.equal((await http(server.url, 'PATCH', '/rooms/short', { retentionDays: null })).status, 200, 'null asks for nothing')
    assert.equal((await http(server.url, 'GET', '/rooms/short')).body.retentionDays, null)
    return
  }
  const server = await start()
  const created = await http(server.url, 'POST', '/rooms', { id: 'short', retentionDays: days(1.5) })
  assert.equal(created.status, 201)
  assert.equal(created.body.retentionDays, days(1.5))
  await http(server.url, 'POST', '/rooms', { id: 'kept' })
  for (const text of ['old one', 'old two']) {
    await http(server.url, 'POST', '/rooms/short/messages', { text, user: 'alice' })
    await http(server.url, 'POST', '/rooms/kept/messages', { text, user: 'alice' })
  }
  const posted = Date.now()
  await eventually(async () => (await texts(server.url, 'short')).length === 0, 10_000, 'the old messages removed')
  const removedAfter = Date.now() - posted
  assert.ok(removedAfter < 1500 + 5000, `removed ${removedAfter} ms after they were sent`)
  assert.deepEqual(await texts(server.url, 'kept'), ['old one', 'old two'], 'a room without a period keeps its messages')
  assert.deepEqual((await http(server.url, 'GET', '/rooms/short/messages/search?q=old')).body.messages, [], 'nor are they found')
  const next = await http(server.url, 'POST', '/rooms/short/messages', { text: 'new', user: 'alice' })
  assert.equal(next.body.seq, 3, 'seqs are never used twice')

  assert.equal((await http(server.url, 'PATCH', '/rooms/short', { retentionDays: null })).body.retentionDays, null)
  for (const retentionDays of [0, -1, 'a week', 36_501]) {
    assert.equal((await http(server.url, 'PATCH', '/rooms/kept', { retentionDays })).status, 400, `retentionDays ${String(retentionDays)}`)
  }
})

for (const engine of ['sqlite', 'postgres'] as const) {
  test(`${engine}: CHAT_RETENTION_DAYS applies to rooms without a period; a room whose every message went keeps its latest seq through a restart`, async (t) => {
    const postgres = engine === 'postgres' ? await startPostgres(t) : undefined
    if (engine === 'postgres' && postgres === undefined) return
    const storage = postgres === undefined ? { CHAT_DB: join(tempDir(t), 'chat.sqlite') } : { CHAT_DATABASE_URL: await postgres.database() }
    const first = await startServer(t, { ...storage, CHAT_RETENTION_DAYS: days(1) })
    await http(first.url, 'POST', '/rooms', { id: 'lobby' })
    await http(first.url, 'POST', '/rooms', { id: 'archive', retentionDays: 3650 })
    for (const room of ['lobby', 'archive']) {
      for (const text of ['a', 'b']) await http(first.url, 'POST', `/rooms/${room}/messages`, { text, user: 'alice' })
    }
    await eventually(async () => (await texts(first.url, 'lobby')).length === 0, 10_000, 'lobby emptied by the default period')
    assert.deepEqual(await texts(first.url, 'archive'), ['a', 'b'], 'a room\'s own period wins over the default')
    await first.app.close()
    const second = await startServer(t, storage)
    assert.equal((await http(second.url, 'POST', '/rooms/lobby/messages', { text: 'after', user: 'alice' })).body.seq, 3)
  })
}

test('CHAT_RETENTION_DAYS: a positive number of days, fractions allowed; refused on Redis alone, saying why', () => {
  assert.equal(configFrom({ CHAT_RETENTION_DAYS: '0.5' }).CHAT_RETENTION_DAYS, 0.5)
  assert.equal(configFrom({}).CHAT_RETENTION_DAYS, undefined)
  for (const value of ['0', '-2', 'week']) {
    assert.throws(() => configFrom({ CHAT_RETENTION_DAYS: value }), (err: unknown) => err instanceof ConfigError &&
      err.message.startsWith(`CHAT_RETENTION_DAYS: invalid value "${value}"; expected a number above 0`))
  }
  assert.throws(() => configFrom({ REDIS_URL: 'redis://127.0.0.1:6379', CHAT_RETENTION_DAYS: 30 }), (err: unknown) => err instanceof ConfigError &&
    /^CHAT_RETENTION_DAYS: retention needs history in a database; on Redis alone/.test(err.message))
  assert.equal(configFrom({ REDIS_URL: 'redis://127.0.0.1:6379', CHAT_DATABASE_URL: 'postgres://127.0.0.1/chat', CHAT_RETENTION_DAYS: 30 }).CHAT_RETENTION_DAYS, 30)
})
