import assert from 'node:assert/strict'
import { describe, test, type TestContext } from 'node:test'
import { connectAs, eventually, http, startServer, type TestServer } from '../helper.ts'

interface Reply { status: number, body: any, text: string, headers: Headers }

/** An error answer: the status and exactly the contract's {statusCode, error, message} body. */
function assertError (reply: Reply, status: number, message?: RegExp): void {
  assert.equal(reply.status, status, `expected ${status}, got ${reply.status}: ${reply.text}`)
  assert.deepEqual(Object.keys(reply.body ?? {}).sort(), ['error', 'message', 'statusCode'], reply.text)
  assert.equal(reply.body.statusCode, status)
  assert.equal(typeof reply.body.error, 'string')
  assert.ok(reply.body.error.length > 0)
  assert.equal(typeof reply.body.message, 'string')
  if (message !== undefined) assert.match(reply.body.message, message)
}

function assertRoom (room: any): void {
  assert.deepEqual(Object.keys(room).sort(), ['createdAt', 'historyLimit', 'id', 'name', 'online', 'private', 'retentionDays', 'slowModeMs'])
  assert.equal(typeof room.id, 'string')
  assert.equal(typeof room.name, 'string')
  assert.equal(typeof room.private, 'boolean')
  assert.ok(Number.isInteger(room.historyLimit))
  assert.ok(Number.isInteger(room.slowModeMs) && room.slowModeMs >= 0)
  assert.ok(Number.isInteger(room.online) && room.online >= 0)
  assert.equal(new Date(room.createdAt).toISOString(), room.createdAt, 'createdAt is ISO 8601')
}

function assertMessage (message: any): void {
  assert.deepEqual(Object.keys(message).sort(), ['id', 'room', 'seq', 'text', 'time', 'user'])
  assert.equal(typeof message.id, 'string')
  assert.ok(Number.isInteger(message.seq) && message.seq >= 1)
  assert.equal(new Date(message.time).toISOString(), message.time, 'time is ISO 8601')
}

const HISTORY_LIMIT = 250
const MAX_TEXT = 40

async function server (t: TestContext): Promise<TestServer> {
  return startServer(t, { CHAT_HISTORY_LIMIT: HISTORY_LIMIT, CHAT_MAX_TEXT: MAX_TEXT })
}

async function createRoom (s: TestServer, body: Record<string, unknown>) {
  const reply = await http(s.url, 'POST', '/rooms', body)
  assert.equal(reply.status, 201, reply.text)
  return reply.body
}

async function post (s: TestServer, room: string, text: string, user?: string) {
  const reply = await http(s.url, 'POST', `/rooms/${room}/messages`, user === undefined ? { text } : { text, user })
  assert.equal(reply.status, 201, reply.text)
  return reply.body
}

const seqs = (messages: { seq: number }[]) => messages.map((m) => m.seq)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('POST /rooms', () => {
  test('201 with the room object; name defaults to the id, historyLimit to CHAT_HISTORY_LIMIT', async (t) => {
    const s = await server(t)
    const before = Date.now()
    const reply = await http(s.url, 'POST', '/rooms', { id: 'lobby' })
    assert.equal(reply.status, 201)
    assertRoom(reply.body)
    assert.equal(reply.body.id, 'lobby')
    assert.equal(reply.body.name, 'lobby')
    assert.equal(reply.body.private, false)
    assert.equal(reply.body.historyLimit, HISTORY_LIMIT)
    assert.equal(reply.body.online, 0)
    assert.ok(Date.parse(reply.body.createdAt) >= before - 1000)
    const fetched = await http(s.url, 'GET', '/rooms/lobby')
    assert.deepEqual(fetched.body, reply.body)
  })

  test('201 with every field given', async (t) => {
    const s = await server(t)
    const room = await createRoom(s, { id: 'Team_1.x-y', name: 'The team', private: true, historyLimit: 12 })
    assertRoom(room)
    assert.equal(room.id, 'Team_1.x-y')
    assert.equal(room.name, 'The team')
    assert.equal(room.private, true)
    assert.equal(room.historyLimit, 12)
  })

  test('409 when the room exists, and the existing room is unchanged', async (t) => {
    const s = await server(t)
    await createRoom(s, { id: 'taken', name: 'First' })
    const again = await http(s.url, 'POST', '/rooms', { id: 'taken', name: 'Second' })
    assertError(again, 409, /taken/)
    assert.equal((await http(s.url, 'GET', '/rooms/taken')).body.name, 'First')
  })

  test('a room auto-created by a WS join conflicts too', async (t) => {
    const s = await server(t)
    const alice = await connectAs(t, s, 'alice')
    await alice.join('joined-first')
    assertError(await http(s.url, 'POST', '/rooms', { id: 'joined-first' }), 409)
  })

  const invalid: [string, unknown][] = [
    ['no id', {}],
    ['an id with a space', { id: 'bad id' }],
    ['an id with a slash', { id: 'a/b' }],
    ['an empty id', { id: '' }],
    ['an id of 65 characters', { id: 'x'.repeat(65) }],
    ['an id with a non-ASCII letter', { id: 'café' }],
    ['an object as id', { id: { x: 1 } }],
    ['private not a boolean', { id: 'ok', private: 'yes' }],
    ['historyLimit negative', { id: 'ok', historyLimit: -3 }],
    ['historyLimit fractional', { id: 'ok', historyLimit: 2.5 }],
    ['historyLimit a word', { id: 'ok', historyLimit: 'ten' }],
    ['an empty name', { id: 'ok', name: '' }],
    ['a body that is not JSON', '{"id": '],
    ['a JSON array', [{ id: 'ok' }]]
  ]
  for (const [what, body] of invalid) {
    test(`400 for ${what}`, async (t) => {
      const s = await server(t)
      assertError(await http(s.url, 'POST', '/rooms', body), 400)
      assert.deepEqual((await http(s.url, 'GET', '/rooms')).body.rooms, [], 'nothing was created')
    })
  }

  test('an id of 64 characters is accepted', async (t) => {
    const s = await server(t)
    const id = 'a'.repeat(64)
    assert.equal((await createRoom(s, { id })).id, id)
  })
})

describe('GET /rooms', () => {
  test('pages of `limit` rooms in id order; nextCursor is null on the last page', async (t) => {
    const s = await server(t)
    const ids = ['g', 'c', 'a', 'e', 'b', 'f', 'd']
    for (const id of ids) await createRoom(s, { id })
    const pages: string[][] = []
    let cursor: string | null = null
    for (let i = 0; i < 10; i++) {
      const query: string = cursor === null ? '?limit=3' : `?limit=3&cursor=${encodeURIComponent(cursor)}`
      const reply = await http(s.url, 'GET', '/rooms' + query)
      assert.equal(reply.status, 200, reply.text)
      assert.deepEqual(Object.keys(reply.body).sort(), ['nextCursor', 'rooms'])
      for (const room of reply.body.rooms) assertRoom(room)
      pages.push(reply.body.rooms.map((room: { id: string }) => room.id))
      cursor = reply.body.nextCursor
      if (cursor === null) break
      assert.equal(typeof cursor, 'string')
    }
    assert.deepEqual(pages, [['a', 'b', 'c'], ['d', 'e', 'f'], ['g']])
  })

  test('a last page that is exactly full has nextCursor null', async (t) => {
    const s = await server(t)
    for (const id of ['r1', 'r2', 'r3', 'r4']) await createRoom(s, { id })
    const first = await http(s.url, 'GET', '/rooms?limit=2')
    assert.notEqual(first.body.nextCursor, null)
    const second = await http(s.url, 'GET', `/rooms?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`)
    assert.deepEqual(second.body.rooms.map((r: { id: string }) => r.id), ['r3', 'r4'])
    assert.equal(second.body.nextCursor, null)
  })

  test('limit defaults to 50', async (t) => {
    const s = await server(t)
    const ids = Array.from({ length: 53 }, (_, i) => `room-${String(i).padStart(2, '0')}`)
    for (const id of ids) await createRoom(s, { id })
    const first = await http(s.url, 'GET', '/rooms')
    assert.equal(first.status, 200)
    assert.equal(first.body.rooms.length, 50)
    assert.notEqual(first.body.nextCursor, null)
    const rest = await http(s.url, 'GET', `/rooms?cursor=${encodeURIComponent(first.body.nextCursor)}`)
    assert.deepEqual([...first.body.rooms, ...rest.body.rooms].map((r: { id: string }) => r.id), ids)
    assert.equal(rest.body.nextCursor, null)
  })

  test('no rooms: an empty page with nextCursor null', async (t) => {
    const s = await server(t)
    const reply = await http(s.url, 'GET', '/rooms')
    assert.equal(reply.status, 200)
    assert.deepEqual(reply.body, { rooms: [], nextCursor: null })
  })

  test('a room deleted between pages is skipped without breaking the cursor', async (t) => {
    const s = await server(t)
    for (const id of ['a', 'b', 'c', 'd']) await createRoom(s, { id })
    const first = await http(s.url, 'GET', '/rooms?limit=2')
    assert.equal((await http(s.url, 'DELETE', '/rooms/b')).status, 204)
    const second = await http(s.url, 'GET', `/rooms?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`)
    assert.deepEqual(second.body.rooms.map((r: { id: string }) => r.id), ['c', 'd'])
  })

  for (const query of ['limit=0', 'limit=101', 'limit=-1', 'limit=abc', 'limit=2.5']) {
    test(`400 for ${query}`, async (t) => {
      const s = await server(t)
      assertError(await http(s.url, 'GET', `/rooms?${query}`), 400)
    })
  }

  test('limit 1 and 100 are accepted', async (t) => {
    const s = await server(t)
    await createRoom(s, { id: 'only' })
    assert.equal((await http(s.url, 'GET', '/rooms?limit=1')).status, 200)
    assert.equal((await http(s.url, 'GET', '/rooms?limit=100')).status, 200)
  })

  for (const cursor of ['~~~~', '', 'x'.repeat(200), 'not an id!']) {
    test(`400 for the cursor ${JSON.stringify(cursor.slice(0, 20))}`, async (t) => {
      const s = await server(t)
      await createRoom(s, { id: 'a' })
      assertError(await http(s.url, 'GET', `/rooms?cursor=${encodeURIComponent(cursor)}`), 400)
    })
  }
})

describe('GET /rooms/:id', () => {
  test('200 with the room, 404 for an unknown room, 400 for a bad id', async (t) => {
    const s = await server(t)
    await createRoom(s, { id: 'here', name: 'Here', private: true, historyLimit: 5 })
    const reply = await http(s.url, 'GET', '/rooms/here')
    assert.equal(reply.status, 200)
    assertRoom(reply.body)
    assert.equal(reply.body.name, 'Here')
    assert.equal(reply.body.private, true)
    assert.equal(reply.body.historyLimit, 5)
    assertError(await http(s.url, 'GET', '/rooms/nowhere'), 404, /nowhere/)
    assertError(await http(s.url, 'GET', `/rooms/${encodeURIComponent('bad id')}`), 400)
  })
})

describe('PATCH /rooms/:id', () => {
  test('200 with the changed room; unchanged fields stay', async (t) => {
    const s = await server(t)
    const created = await createRoom(s, { id: 'p', name: 'Before' })
    const renamed = await http(s.url, 'PATCH', '/rooms/p', { name: 'After' })
    assert.equal(renamed.status, 200)
    assertRoom(renamed.body)
    assert.deepEqual(renamed.body, { ...created, name: 'After' })
    const locked = await http(s.url, 'PATCH', '/rooms/p', { private: true, historyLimit: 7 })
    assert.deepEqual(locked.body, { ...created, name: 'After', private: true, historyLimit: 7 })
    assert.deepEqual((await http(s.url, 'GET', '/rooms/p')).body, locked.body)
    const reset = await http(s.url, 'PATCH', '/rooms/p', { historyLimit: null, private: false })
    assert.equal(reset.status, 200)
    assert.equal(reset.body.historyLimit, HISTORY_LIMIT, 'null returns to CHAT_HISTORY_LIMIT')
    assert.equal(reset.body.private, false)
    const empty = await http(s.url, 'PATCH', '/rooms/p', {})
    assert.equal(empty.status, 200)
    assert.deepEqual(empty.body, reset.body)
  })

  test('shrinking historyLimit trims the stored history at once', async (t) => {
    const s = await server(t)
    await createRoom(s, { id: 'trim' })
    for (let i = 1; i <= 10; i++) await post(s, 'trim', `m${i}`)
    const patched = await http(s.url, 'PATCH', '/rooms/trim', { historyLimit: 3 })
    assert.equal(patched.status, 200)
    assert.equal(patched.body.historyLimit, 3)
    const history = await http(s.url, 'GET', '/rooms/trim/messages')
    assert.deepEqual(seqs(history.body.messages), [8, 9, 10])
    assert.equal((await post(s, 'trim', 'm11')).seq, 11, 'seq goes on after trimming')
    assert.deepEqual(seqs((await http(s.url, 'GET', '/rooms/trim/messages')).body.messages), [9, 10, 11])
  })

  test('404 for an unknown room', async (t) => {
    const s = await server(t)
    assertError(await http(s.url, 'PATCH', '/rooms/ghost', { name: 'x' }), 404, /ghost/)
  })

  for (const [what, body] of [
    ['historyLimit negative', { historyLimit: -2 }],
    ['historyLimit false', { historyLimit: false }],
    ['historyLimit over the maximum', { historyLimit: 1_000_001 }],
    ['historyLimit a word', { historyLimit: 'many' }],
    ['slowModeMs negative', { slowModeMs: -1 }],
    ['slowModeMs null', { slowModeMs: null }],
    ['an empty name', { name: '' }],
    ['private not a boolean', { private: 'sure' }]
  ] as const) {
    test(`400 for ${what}, and the room is unchanged`, async (t) => {
      const s = await server(t)
      const created = await createRoom(s, { id: 'p' })
      assertError(await http(s.url, 'PATCH', '/rooms/p', body), 400)
      assert.deepEqual((await http(s.url, 'GET', '/rooms/p')).body, created)
    })
  }

  test('400 for a bad id', async (t) => {
    const s = await server(t)
    assertError(await http(s.url, 'PATCH', `/rooms/${encodeURIComponent('no way')}`, { name: 'x' }), 400)
  })
})

describe('DELETE /rooms/:id', () => {
  test('204, then the room and its messages are gone (404), and a second delete is 404', async (t) => {
    const s = await server(t)
    await createRoom(s, { id: 'bye' })
    await post(s, 'bye', 'last words')
    const deleted = await http(s.url, 'DELETE', '/rooms/bye')
    assert.equal(deleted.status, 204)
    assert.equal(deleted.text, '')
    assertError(await http(s.url, 'GET', '/rooms/bye'), 404)
    assertError(await http(s.url, 'GET', '/rooms/bye/messages'), 404)
    assertError(await http(s.url, 'DELETE', '/rooms/bye'), 404)
    assert.deepEqual((await http(s.url, 'GET', '/rooms')).body.rooms, [])
  })

  test('404 for a room that never existed', async (t) => {
    const s = await server(t)
    assertError(await http(s.url, 'DELETE', '/rooms/never'), 404, /never/)
  })

  test('members get room_deleted and stay connected; a recreated room starts at seq 1', async (t) => {
    const s = await server(t)
    const alice = await connectAs(t, s, 'alice')
    await alice.join('doomed')
    await post(s, 'doomed', 'one')
    await alice.next('message')
    assert.equal((await http(s.url, 'DELETE', '/rooms/doomed')).status, 204)
    assert.deepEqual(await alice.next('room_deleted'), { type: 'room_deleted', room: 'doomed' })
    assert.equal((await alice.request({ type: 'ping' })).type, 'pong')
    assertError(await http(s.url, 'GET', '/rooms/doomed/online'), 404)
    await createRoom(s, { id: 'doomed' })
    assert.equal((await post(s, 'doomed', 'fresh')).seq, 1)
  })
})

describe('GET /rooms/:id/online', () => {
  test('each online user once with their connection count; `online` counts distinct users', async (t) => {
    const s = await server(t)
    await createRoom(s, { id: 'party' })
    const empty = await http(s.url, 'GET', '/rooms/party/online')
    assert.equal(empty.status, 200)
    assert.deepEqual(empty.body, { users: [] })

    const alice1 = await connectAs(t, s, 'alice')
    const alice2 = await connectAs(t, s, 'alice')
    const bob = await connectAs(t, s, 'bob')
    await alice1.join('party')
    await alice2.join('party')
    await bob.join('party')

    const online = await http(s.url, 'GET', '/rooms/party/online')
    assert.equal(online.status, 200)
    const users = [...online.body.users].sort((a, b) => a.user.localeCompare(b.user))
    assert.deepEqual(users, [{ user: 'alice', connections: 2 }, { user: 'bob', connections: 1 }])
    assert.equal((await http(s.url, 'GET', '/rooms/party')).body.online, 2)
    const listed = (await http(s.url, 'GET', '/rooms')).body.rooms.find((r: { id: string }) => r.id === 'party')
    assert.equal(listed.online, 2)

    alice1.close()
    await eventually(async () => {
      const reply = await http(s.url, 'GET', '/rooms/party/online')
      return reply.body.users.some((u: { user: string, connections: number }) => u.user === 'alice' && u.connections === 1)
    }, 5000, 'alice down to one connection')
    assert.equal((await http(s.url, 'GET', '/rooms/party')).body.online, 2)

    await alice2.request({ type: 'leave', room: 'party' })
    bob.close()
    await eventually(async () => (await http(s.url, 'GET', '/rooms/party/online')).body.users.length === 0, 5000, 'room empty')
    assert.equal((await http(s.url, 'GET', '/rooms/party')).body.online, 0)
  })

  test('404 for an unknown room, 400 for a bad id', async (t) => {
    const s = await server(t)
    assertError(await http(s.url, 'GET', '/rooms/nobody/online'), 404)
    assertError(await http(s.url, 'GET', `/rooms/${encodeURIComponent('a b')}/online`), 400)
  })
})

describe('grants', () => {
  test('PUT lets a user join the private room; DELETE revokes and kicks; both 204 and repeatable', async (t) => {
    const s = await server(t)
    await createRoom(s, { id: 'vip', private: true })
    const carol = await connectAs(t, s, 'carol')
    const refused = await carol.request({ type: 'join', room: 'vip' })
    assert.equal(refused.type, 'error')
    assert.equal(refused.code, 'forbidden')

    const granted = await http(s.url, 'PUT', '/rooms/vip/grants/carol')
    assert.equal(granted.status, 204)
    assert.equal(granted.text, '')
    assert.equal((await http(s.url, 'PUT', '/rooms/vip/grants/carol')).status, 204, 'granting twice is fine')
    await carol.join('vip')

    const revoked = await http(s.url, 'DELETE', '/rooms/vip/grants/carol')
    assert.equal(revoked.status, 204)
    assert.equal(revoked.text, '')
    const kicked = await carol.next('kicked')
    assert.equal(kicked.room, 'vip')
    assert.equal(typeof kicked.reason, 'string')
    const again = await carol.request({ type: 'join', room: 'vip' })
    assert.equal(again.code, 'forbidden')
    assert.equal((await http(s.url, 'DELETE', '/rooms/vip/grants/carol')).status, 204, 'revoking twice is fine')
  })

  test('404 on an unknown room, 400 on a bad user id or room id', async (t) => {
    const s = await server(t)
    await createRoom(s, { id: 'vip', private: true })
    assertError(await http(s.url, 'PUT', '/rooms/missing/grants/carol'), 404)
    assertError(await http(s.url, 'DELETE', '/rooms/missing/grants/carol'), 404)
    assertError(await http(s.url, 'PUT', `/rooms/vip/grants/${encodeURIComponent('not ok')}`), 400)
    assertError(await http(s.url, 'DELETE', `/rooms/vip/grants/${encodeURIComponent('x'.repeat(65))}`), 400)
    assertError(await http(s.url, 'PUT', `/rooms/${encodeURIComponent('v i p')}/grants/carol`), 400)
  })
})

describe('GET /rooms/:id/messages', () => {
  test('ascending; the newest 50 by default; `before` pages backwards', async (t) => {
    const s = await server(t)
    await createRoom(s, { id: 'log' })
    const posted = []
    for (let i = 1; i <= 55; i++) posted.push(await post(s, 'log', `m${i}`, i % 2 === 0 ? 'bob' : undefined))
    const latest = await http(s.url, 'GET', '/rooms/log/messages')
    assert.equal(latest.status, 200)
    assert.deepEqual(Object.keys(latest.body), ['messages'])
    for (const message of latest.body.messages) assertMessage(message)
    assert.deepEqual(seqs(latest.body.messages), range(6, 55))
    assert.deepEqual(latest.body.messages, posted.slice(5), 'the stored messages are the ones POST answered')

    assert.deepEqual(seqs((await http(s.url, 'GET', '/rooms/log/messages?limit=3')).body.messages), [53, 54, 55])
    assert.deepEqual(seqs((await http(s.url, 'GET', '/rooms/log/messages?before=10&limit=4')).body.messages), [6, 7, 8, 9])
    assert.deepEqual(seqs((await http(s.url, 'GET', '/rooms/log/messages?before=3')).body.messages), [1, 2])
    assert.deepEqual((await http(s.url, 'GET', '/rooms/log/messages?before=1')).body.messages, [])
    assert.equal((await http(s.url, 'GET', '/rooms/log/messages?limit=100')).body.messages.length, 55)

    const seen: number[] = []
    let before: number | undefined
    for (let page = 0; page < 20; page++) {
      const query = before === undefined ? '?limit=20' : `?limit=20&before=${before}`
      const { messages } = (await http(s.url, 'GET', `/rooms/log/messages${query}`)).body
      if (messages.length === 0) break
      seen.unshift(...seqs(messages))
      before = messages[0].seq
    }
    assert.deepEqual(seen, range(1, 55), 'paging with before visits every message once')
  })

  test('an empty room has no messages', async (t) => {
    const s = await server(t)
    await createRoom(s, { id: 'quiet' })
    assert.deepEqual((await http(s.url, 'GET', '/rooms/quiet/messages')).body, { messages: [] })
  })

  for (const query of ['limit=0', 'limit=101', 'limit=x', 'before=0', 'before=-1', 'before=abc']) {
    test(`400 for ${query}`, async (t) => {
      const s = await server(t)
      await createRoom(s, { id: 'log' })
      assertError(await http(s.url, 'GET', `/rooms/log/messages?${query}`), 400)
    })
  }

  test('404 for an unknown room', async (t) => {
    const s = await server(t)
    assertError(await http(s.url, 'GET', '/rooms/void/messages'), 404, /void/)
  })
})

describe('POST /rooms/:id/messages', () => {
  test('201 with the message; user defaults to system; members receive it', async (t) => {
    const s = await server(t)
    await createRoom(s, { id: 'news' })
    const reader = await connectAs(t, s, 'reader')
    await reader.join('news')

    const reply = await http(s.url, 'POST', '/rooms/news/messages', { text: 'maintenance at noon' })
    assert.equal(reply.status, 201)
    assertMessage(reply.body)
    assert.equal(reply.body.room, 'news')
    assert.equal(reply.body.seq, 1)
    assert.equal(reply.body.user, 'system')
    assert.equal(reply.body.text, 'maintenance at noon')
    const received = await reader.next('message')
    assert.deepEqual(received, { type: 'message', ...reply.body })

    const custom = await http(s.url, 'POST', '/rooms/news/messages', { text: 'hi', user: 'bot.1' })
    assert.equal(custom.status, 201)
    assert.equal(custom.body.user, 'bot.1')
    assert.equal(custom.body.seq, 2)
    assert.notEqual(custom.body.id, reply.body.id)
    assert.equal((await reader.next('message')).user, 'bot.1')
  })

  test('text of exactly CHAT_MAX_TEXT characters is accepted, one more is 400', async (t) => {
    const s = await server(t)
    await createRoom(s, { id: 'news' })
    assert.equal((await post(s, 'news', 'x'.repeat(MAX_TEXT))).text.length, MAX_TEXT)
    assertError(await http(s.url, 'POST', '/rooms/news/messages', { text: 'x'.repeat(MAX_TEXT + 1) }), 400)
    assert.equal((await http(s.url, 'GET', '/rooms/news/messages')).body.messages.length, 1, 'nothing stored')
  })

  for (const [what, body] of [
    ['empty text', { text: '' }],
    ['no text', { user: 'bob' }],
    ['text not a string', { text: { nested: true } }],
    ['a bad user id', { text: 'hi', user: 'no spaces please' }],
    ['no body', undefined]
  ] as const) {
    test(`400 for ${what}`, async (t) => {
      const s = await server(t)
      await createRoom(s, { id: 'news' })
      assertError(await http(s.url, 'POST', '/rooms/news/messages', body), 400)
      assert.deepEqual((await http(s.url, 'GET', '/rooms/news/messages')).body.messages, [])
    })
  }

  test('404 for an unknown room (it is not auto-created)', async (t) => {
    const s = await server(t)
    assertError(await http(s.url, 'POST', '/rooms/nowhere/messages', { text: 'hello?' }), 404, /nowhere/)
    assertError(await http(s.url, 'GET', '/rooms/nowhere'), 404)
  })

  test('seq continues across WS and REST messages', async (t) => {
    const s = await server(t)
    const alice = await connectAs(t, s, 'alice')
    await alice.join('mixed')
    const first = await alice.request({ type: 'message', room: 'mixed', text: 'ws 1' })
    assert.equal(first.seq, 1)
    assert.equal((await post(s, 'mixed', 'rest 2')).seq, 2)
    const third = await alice.request({ type: 'message', room: 'mixed', text: 'ws 3' })
    assert.equal(third.seq, 3)
    assert.equal((await post(s, 'mixed', 'rest 4', 'alice')).seq, 4)
    const received = []
    for (let i = 0; i < 4; i++) received.push(await alice.next('message'))
    assert.deepEqual(received.map((m) => m.seq), [1, 2, 3, 4])
    const history = (await http(s.url, 'GET', '/rooms/mixed/messages')).body.messages
    assert.deepEqual(history.map((m: { text: string }) => m.text), ['ws 1', 'rest 2', 'ws 3', 'rest 4'])
    assert.deepEqual(history.map((m: { user: string }) => m.user), ['alice', 'system', 'alice', 'alice'])
  })

  test('messages beyond the room\'s historyLimit are trimmed', async (t) => {
    const s = await server(t)
    await createRoom(s, { id: 'short', historyLimit: 2 })
    for (let i = 1; i <= 5; i++) await post(s, 'short', `m${i}`)
    assert.deepEqual(seqs((await http(s.url, 'GET', '/rooms/short/messages')).body.messages), [4, 5])
  })
})

describe('operations and other routes', () => {
  test('GET /healthz and /readyz answer 200', async (t) => {
    const s = await server(t)
    const health = await http(s.url, 'GET', '/healthz')
    assert.equal(health.status, 200)
    const ready = await http(s.url, 'GET', '/readyz')
    assert.equal(ready.status, 200)
  })

  test('GET /metrics is Prometheus text with chat_ metrics', async (t) => {
    const s = await server(t)
    const alice = await connectAs(t, s, 'alice')
    await alice.join('m')
    await alice.request({ type: 'message', room: 'm', text: 'counted' })
    const reply = await http(s.url, 'GET', '/metrics')
    assert.equal(reply.status, 200)
    assert.match(reply.headers.get('content-type') ?? '', /^text\/plain/)
    assert.match(reply.text, /^# HELP chat_/m)
    assert.match(reply.text, /^chat_connections 1$/m)
    assert.match(reply.text, /^chat_messages_stored_total 1$/m)
  })

  test('GET /docs/json is an OpenAPI document listing the /rooms paths', async (t) => {
    const s = await server(t)
    const reply = await http(s.url, 'GET', '/docs/json')
    assert.equal(reply.status, 200)
    assert.match(String(reply.body.openapi), /^3\./)
    const paths = Object.keys(reply.body.paths)
    for (const path of ['/rooms', '/rooms/{id}', '/rooms/{id}/online', '/rooms/{id}/grants/{user}', '/rooms/{id}/messages']) {
      assert.ok(paths.includes(path), `${path} in ${paths.join(', ')}`)
    }
    const rooms = reply.body.paths['/rooms']
    assert.ok(rooms.get && rooms.post)
    const room = reply.body.paths['/rooms/{id}']
    assert.ok(room.get && room.patch && room.delete)
    assert.ok(reply.body.paths['/rooms/{id}/messages'].post)
  })

  test('GET /docs serves the UI (or redirects to it)', async (t) => {
    const s = await server(t)
    const response = await fetch(`${s.url}/docs`, { redirect: 'manual' })
    await response.arrayBuffer()
    assert.ok([200, 301, 302, 303, 307, 308].includes(response.status), `status ${response.status}`)
    const followed = await fetch(`${s.url}/docs`)
    assert.equal(followed.status, 200)
    assert.match(followed.headers.get('content-type') ?? '', /text\/html/)
    await followed.arrayBuffer()
  })

  test('GET /ws without an upgrade is 426', async (t) => {
    const s = await server(t)
    const reply = await http(s.url, 'GET', '/ws')
    assertError(reply, 426)
  })

  test('an unknown route is 404 with the error body', async (t) => {
    const s = await server(t)
    assertError(await http(s.url, 'GET', '/nope'), 404, /nope/)
    assertError(await http(s.url, 'POST', '/rooms/a/b/c', { x: 1 }), 404)
  })
})

test('JSON bodies are checked as sent: wrong types are 400, never converted', async (t) => {
  const server = await startServer(t)
  for (const body of [{ id: 5 }, { id: ['e'] }, { id: 'a', private: 1 }, { id: 'a', private: 'true' }, { id: 'a', historyLimit: '7' }, { id: 'a', name: 7 }]) {
    const response = await http(server.url, 'POST', '/rooms', body)
    assert.equal(response.status, 400, JSON.stringify(body))
    assert.match(response.body.message, /^body\//)
  }
  assert.deepEqual((await http(server.url, 'GET', '/rooms')).body.rooms, [])
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'kept', historyLimit: 7 })).status, 201)
  assert.equal((await http(server.url, 'PATCH', '/rooms/kept', { historyLimit: '' })).status, 400)
  assert.equal((await http(server.url, 'GET', '/rooms/kept')).body.historyLimit, 7)
  assert.equal((await http(server.url, 'GET', '/rooms?limit=2.5')).status, 400)
})
