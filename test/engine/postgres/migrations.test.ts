import assert from 'node:assert/strict'
import { test } from 'node:test'
import pg from 'pg'
import { CORE_SCHEMA_VERSION } from '../../../src/engine/postgres/migrations.ts'
import { http, startServer } from '../../helper.ts'
import { startPostgres } from '../../postgres-helper.ts'

async function query<R extends pg.QueryResultRow> (url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(text, values)).rows
  } finally {
    await client.end()
  }
}

test('postgres: two nodes starting together on an empty database migrate it once; a restart keeps the data and migrates nothing', async (t) => {
  const server = await startPostgres(t)
  if (server === undefined) return
  const url = await server.database()
  const [one, two] = await Promise.all([startServer(t, { CHAT_DATABASE_URL: url }), startServer(t, { CHAT_DATABASE_URL: url })])
  const versions = await query<{ component: string, version: number }>(url, 'SELECT component, version FROM chat_schema ORDER BY component')
  assert.deepEqual(versions.find((row) => row.component === 'core'), { component: 'core', version: CORE_SCHEMA_VERSION })
  for (const feature of ['reactions', 'replies', 'mentions', 'read-state', 'roles', 'moderation', 'reports', 'direct-messages', 'search', 'slow-mode']) {
    assert.ok(versions.some((row) => row.component === feature && row.version >= 1), `${feature} is migrated`)
  }
  assert.equal((await http(one.url, 'POST', '/rooms', { id: 'kept' })).status, 201)
  await http(two.url, 'POST', '/rooms/kept/messages', { text: 'still here', user: 'alice' })
  await one.app.close()
  await two.app.close()
  const again = await startServer(t, { CHAT_DATABASE_URL: url })
  assert.deepEqual((await http(again.url, 'GET', '/rooms/kept/messages')).body.messages.map((m: { text: string }) => m.text), ['still here'])
  assert.deepEqual(await query(url, 'SELECT component, version FROM chat_schema ORDER BY component'), versions, 'nothing migrated again')
})

test('postgres: a database written by a newer release is refused at start-up, naming CHAT_DATABASE_URL and what is newer', async (t) => {
  const server = await startPostgres(t)
  if (server === undefined) return
  const url = await server.database()
  const first = await startServer(t, { CHAT_DATABASE_URL: url })
  await http(first.url, 'POST', '/rooms', { id: 'lobby' })
  await first.app.close()

  await query(url, "UPDATE chat_schema SET version = 99 WHERE component = 'core'")
  await assert.rejects(startServer(t, { CHAT_DATABASE_URL: url }),
    (err: Error) => err.message === `CHAT_DATABASE_URL: the database's schema is version 99, newer than this release supports (${CORE_SCHEMA_VERSION})`)
  await query(url, "UPDATE chat_schema SET version = $1 WHERE component = 'core'", [CORE_SCHEMA_VERSION])

  await query(url, "UPDATE chat_schema SET version = 7 WHERE component = 'reactions'")
  await assert.rejects(startServer(t, { CHAT_DATABASE_URL: url }),
    /CHAT_DATABASE_URL: the database's schema of reactions is version 7, newer than this release supports \(1\)/)
  await query(url, "UPDATE chat_schema SET version = 1 WHERE component = 'reactions'")
  const back = await startServer(t, { CHAT_DATABASE_URL: url })
  assert.equal((await http(back.url, 'GET', '/rooms/lobby')).status, 200, 'the data was left as it was')
})

test('postgres: an unreachable database fails the start with the reason', async (t) => {
  await assert.rejects(startServer(t, { CHAT_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/chat' }), /ECONNREFUSED/)
})

test('CHAT_DATABASE_URL must be a postgres:// URL', async (t) => {
  await assert.rejects(startServer(t, { CHAT_DATABASE_URL: 'mysql://127.0.0.1/chat' }), /CHAT_DATABASE_URL/)
})
