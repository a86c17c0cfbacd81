import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, test, type TestContext } from 'node:test'
import { connect, exitOf, type Frame, http, REFUSAL_BOUND_MS, type ServerProcess, spawnServer, tempDir, type TestClient } from './helper.ts'

/** A dev-mode client of a spawned server, terminated when the test ends. */
async function client (t: TestContext, server: ServerProcess, user: string): Promise<TestClient> {
  const { client } = await connect(`${server.wsUrl}?user=${user}`)
  t.after(() => client.ws.terminate())
  return client
}

/** Parsed JSON log lines of a process; fails on any line that is not JSON. */
function logLines (output: string): Record<string, any>[] {
  return output.split('\n').filter((line) => line.trim() !== '').map((line) => {
    try {
      return JSON.parse(line) as Record<string, any>
    } catch {
      throw new Error(`log line is not JSON: ${line}`)
    }
  })
}

describe('restarts on a file database', () => {
  test('rooms, grants and messages survive a restart, and seq goes on', async (t) => {
    const db = join(tempDir(t), 'data', 'chat.sqlite')
    const first = await spawnServer(t, { CHAT_DB: db })
    assert.equal((await http(first.url, 'POST', '/rooms', { id: 'vault', name: 'The vault', private: true, historyLimit: 20 })).status, 201)
    assert.equal((await http(first.url, 'PUT', '/rooms/vault/grants/alice')).status, 204)
    const alice = await client(t, first, 'alice')
    await alice.join('vault')
    await alice.join('lobby') // auto-created
    const acks: Frame[] = []
    for (const text of ['one', 'two']) acks.push(await alice.request({ type: 'message', room: 'vault', text }))
    acks.push(await alice.request({ type: 'message', room: 'lobby', text: 'hello lobby' }))
    assert.equal((await http(first.url, 'POST', '/rooms/vault/messages', { text: 'three' })).body.seq, 3)
    const before = await http(first.url, 'GET', '/rooms/vault/messages')
    const roomBefore = await http(first.url, 'GET', '/rooms/vault')

    first.child.kill('SIGTERM')
    assert.equal((await exitOf(first, 30_000)).code, 0)

    const second = await spawnServer(t, { CHAT_DB: db })
    const roomAfter = await http(second.url, 'GET', '/rooms/vault')
    assert.equal(roomAfter.status, 200)
    assert.deepEqual(roomAfter.body, { ...roomBefore.body, online: 0 })
    assert.equal(roomAfter.body.private, true)
    assert.equal(roomAfter.body.historyLimit, 20)
    assert.deepEqual((await http(second.url, 'GET', '/rooms')).body.rooms.map((r: { id: string }) => r.id), ['lobby', 'vault'])
    const after = await http(second.url, 'GET', '/rooms/vault/messages')
    assert.deepEqual(after.body, before.body)
    assert.deepEqual(after.body.messages.map((m: { text: string }) => m.text), ['one', 'two', 'three'])
    assert.deepEqual((await http(second.url, 'GET', '/rooms/lobby/messages')).body.messages.map((m: { id: string }) => m.id), [acks[2]!.id])

    // The grant is still there: alice may join the private room, bob may not.
    const alice2 = await client(t, second, 'alice')
    const joined = await alice2.join('vault', { since: 1 })
    assert.equal(joined.seq, 3)
    assert.equal(joined.recovered, true)
    assert.deepEqual([(await alice2.next('message')).seq, (await alice2.next('message')).seq], [2, 3])
    const bob = await client(t, second, 'bob')
    assert.equal((await bob.request({ type: 'join', room: 'vault' })).code, 'forbidden')
    assert.equal((await alice2.request({ type: 'message', room: 'vault', text: 'four' })).seq, 4)
  })

  test('every acknowledged message survives SIGKILL', async (t) => {
    const db = join(tempDir(t), 'chat.sqlite')
    const first = await spawnServer(t, { CHAT_DB: db, CHAT_MSG_RATE: '1000' })
    const writers = await Promise.all(['alice', 'bob', 'carol'].map((user) => client(t, first, user)))
    for (const writer of writers) await writer.join('durable')
    // Many messages in flight at once, so several batches are committed; kill as soon as the
    // last ack arrives.
    const pending: Promise<Frame>[] = []
    for (let i = 0; i < 40; i++) {
      for (const [w, writer] of writers.entries()) pending.push(writer.request({ type: 'message', room: 'durable', text: `w${w} m${i}` }))
    }
    const acks = await Promise.all(pending)
    first.child.kill('SIGKILL')
    const { signal } = await exitOf(first, 10_000)
    assert.equal(signal, 'SIGKILL')
    for (const ack of acks) assert.equal(ack.type, 'ack', JSON.stringify(ack))
    assert.deepEqual(acks.map((ack) => ack.seq).sort((a, b) => a - b), Array.from({ length: 120 }, (_, i) => i + 1))

    const second = await spawnServer(t, { CHAT_DB: db })
    const stored: Frame[] = []
    let before: number | undefined
    for (let page = 0; page < 5; page++) {
      const query = before === undefined ? '?limit=100' : `?limit=100&before=${before}`
      const { messages } = (await http(second.url, 'GET', `/rooms/durable/messages${query}`)).body
      if (messages.length === 0) break
      stored.unshift(...messages)
      before = messages[0].seq
    }
    const byId = new Map(stored.map((m) => [m.id, m]))
    for (const ack of acks) {
      const message = byId.get(ack.id)
      assert.ok(message !== undefined, `acked message ${ack.id} (seq ${ack.seq}) is stored`)
      assert.equal(message.seq, ack.seq)
    }
    assert.equal(stored.length, 120)
    // Seq goes on from where the killed process left it.
    assert.equal((await http(second.url, 'POST', '/rooms/durable/messages', { text: 'after' })).body.seq, 121)
  })
})

describe('shutdown', () => {
  test('SIGTERM closes every client with 1001 and exits 0', async (t) => {
    const server = await spawnServer(t, { CHAT_DB: join(tempDir(t), 'chat.sqlite'), CHAT_SHUTDOWN_MS: '5000' })
    const clients = await Promise.all(['alice', 'bob', 'alice', 'dave'].map((user) => client(t, server, user)))
    await clients[0]!.join('room-1')
    await clients[1]!.join('room-1')
    await clients[2]!.join('room-2')
    // dave joined no room: he is closed too.
    server.child.kill('SIGTERM')
    const closes = await Promise.all(clients.map((c) => Promise.race([
      c.closed,
      new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('client not closed')), 10_000).unref())
    ])))
    for (const close of closes) assert.equal(close.code, 1001)
    const exit = await exitOf(server, 30_000)
    assert.equal(exit.code, 0, server.output())
    assert.equal(exit.signal, null)
    assert.ok(logLines(server.output()).some((line) => line.msg === 'shutting down' && line.signal === 'SIGTERM'))
  })
})

describe('refused starts', () => {
  test('a bad configuration value exits non-zero with a message naming the variable', async (t) => {
    const cases: Record<string, string>[] = [
      { PORT: 'abc' },
      { CHAT_HEARTBEAT_MS: '-5' },
      { CHAT_AUTO_CREATE_ROOMS: 'maybe' },
      { CHAT_ALLOWED_ORIGINS: 'not-a-url' }
    ]
    await Promise.all(cases.map(async (env) => {
      const [variable] = Object.keys(env) as [string]
      const server = await spawnServer(t, { CHAT_DB: ':memory:', ...env }, false)
      const exit = await exitOf(server, REFUSAL_BOUND_MS)
      assert.notEqual(exit.code, 0, `${variable}: ${server.output()}`)
      assert.notEqual(exit.code, null, `${variable} exited by signal`)
      assert.match(server.output(), new RegExp(`\\b${variable}\\b`), `the message names ${variable}`)
      assert.doesNotMatch(server.output(), /Server listening/)
    }))
  })

  test('a webhook URL that is not http(s), a missing secret or an unknown event type refuses the start', async (t) => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
    const cases: [Record<string, string>, string][] = [
      [{ CHAT_WEBHOOK_URLS: 'ftp://hooks.example/in', CHAT_WEBHOOK_SECRET: secret }, 'CHAT_WEBHOOK_URLS'],
      [{ CHAT_WEBHOOK_URLS: 'https://hooks.example/in' }, 'CHAT_WEBHOOK_SECRET'],
      [{ CHAT_WEBHOOK_URLS: 'https://hooks.example/in', CHAT_WEBHOOK_SECRET: 'not-whsec' }, 'CHAT_WEBHOOK_SECRET'],
      [{ CHAT_WEBHOOK_URLS: 'https://hooks.example/in', CHAT_WEBHOOK_SECRET: secret, CHAT_WEBHOOK_EVENTS: 'message.sent' }, 'CHAT_WEBHOOK_EVENTS']
    ]
    await Promise.all(cases.map(async ([env, variable]) => {
      const server = await spawnServer(t, { CHAT_DB: ':memory:', ...env }, false)
      const exit = await exitOf(server, REFUSAL_BOUND_MS)
      assert.notEqual(exit.code, 0, `${variable}: ${server.output()}`)
      assert.notEqual(exit.code, null)
      assert.match(server.output(), new RegExp(`configuration error: ${variable}\\b`), server.output())
      assert.doesNotMatch(server.output(), /Server listening/)
    }))
  })

  test('a database written by a newer release is refused, naming CHAT_DB', async (t) => {
    const { default: BetterSqlite3 } = await import('better-sqlite3')
    const db = join(tempDir(t), 'future.sqlite')
    const handle = new BetterSqlite3(db)
    handle.pragma('user_version = 9999')
    handle.close()
    const server = await spawnServer(t, { CHAT_DB: db }, false)
    const exit = await exitOf(server, REFUSAL_BOUND_MS)
    assert.notEqual(exit.code, 0)
    assert.notEqual(exit.code, null)
    assert.match(server.output(), /CHAT_DB/)
  })

  test('NODE_ENV=production without CHAT_JWT_SECRET and CHAT_ADMIN_TOKEN refuses to start', async (t) => {
    // Each partial combination is covered by test/config.test.ts; here the process itself.
    const cases: [Record<string, string>, string[]][] = [
      [{}, ['CHAT_JWT_SECRET', 'CHAT_ADMIN_TOKEN']],
      [{ CHAT_JWT_SECRET: 'jwt-secret' }, ['CHAT_ADMIN_TOKEN']]
    ]
    await Promise.all(cases.map(async ([env, missing]) => {
      const server = await spawnServer(t, { CHAT_DB: ':memory:', NODE_ENV: 'production', ...env }, false)
      const exit = await exitOf(server, REFUSAL_BOUND_MS)
      assert.notEqual(exit.code, 0, server.output())
      assert.notEqual(exit.code, null)
      for (const name of missing) assert.match(server.output(), new RegExp(name), `names ${name}: ${server.output()}`)
      assert.doesNotMatch(server.output(), /Server listening/)
    }))
  })

  test('NODE_ENV=production with both set starts, and the admin API needs the token', async (t) => {
    const server = await spawnServer(t, {
      CHAT_DB: ':memory:', NODE_ENV: 'production', CHAT_JWT_SECRET: 'jwt-secret', CHAT_ADMIN_TOKEN: 'admin-token'
    })
    assert.equal((await http(server.url, 'GET', '/healthz')).status, 200)
    assert.equal((await http(server.url, 'GET', '/rooms')).status, 401)
    assert.equal((await http(server.url, 'GET', '/rooms', undefined, { authorization: 'Bearer admin-token' })).status, 200)
    assert.doesNotMatch(server.output(), /dev mode/, 'no dev-mode warning with a JWT secret')
    assert.doesNotMatch(server.output(), /jwt-secret|admin-token/, 'secrets never reach the log')
  })
})

describe('logs', () => {
  test('JSON lines from pino; request logs carry a reqId; dev mode warns', async (t) => {
    const server = await spawnServer(t, { CHAT_DB: ':memory:' })
    assert.equal((await http(server.url, 'GET', '/healthz', undefined, { 'x-request-id': 'trace-abc-123' })).status, 200)
    assert.equal((await http(server.url, 'GET', '/rooms/none')).status, 404)
    let lines: Record<string, any>[] = []
    const deadline = Date.now() + 5000
    while (Date.now() < deadline) {
      lines = logLines(server.output())
      if (lines.filter((line) => line.msg === 'request completed').length >= 2) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.ok(lines.length > 0)
    for (const line of lines) {
      assert.equal(typeof line.level, 'number', JSON.stringify(line))
      assert.equal(typeof line.time, 'number', JSON.stringify(line))
      assert.equal(typeof line.msg, 'string', JSON.stringify(line))
    }
    const requestLines = lines.filter((line) => line.req !== undefined || line.res !== undefined)
    assert.ok(requestLines.length >= 4, `incoming and completed lines for two requests: ${server.output()}`)
    for (const line of requestLines) assert.equal(typeof line.reqId, 'string', JSON.stringify(line))
    const traced = requestLines.filter((line) => line.reqId === 'trace-abc-123')
    assert.deepEqual(traced.map((line) => line.msg).sort(), ['incoming request', 'request completed'])
    assert.ok(lines.some((line) => line.level === 40 && /dev mode/.test(line.msg)), 'dev mode logs a warning')
    assert.ok(lines.some((line) => line.msg.startsWith('Server listening')))
  })
})
