import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { connectAs, type Frame, http, startServer } from '../helper.ts'

const MAX_PAYLOAD = 16_384
const RUNS = 250
const SEED = 20_240_611

const SERVER_TYPES = new Set([
  'welcome', 'joined', 'left', 'message', 'ack', 'presence', 'history', 'pong', 'kicked', 'room_deleted', 'refreshed', 'error'
])
/** Frames that go to every member of a room rather than answer one frame. */
const BROADCASTS = new Set(['message', 'presence', 'kicked', 'room_deleted'])
const ERROR_CODES = new Set(['bad_request', 'unauthorized', 'forbidden', 'not_found', 'not_member', 'rate_limited', 'internal'])
/** What an exception's text or a stack trace looks like. */
const LEAK = /\n\s*at\s|\bat .*:\d+:\d+|node:internal|file:\/\/|node_modules|\/work\/|\.ts:\d|\.js:\d|\b(Type|Range|Syntax|Reference)Error\b|SqliteError|Cannot read propert|is not a function/

function assertNoLeak (message: unknown, context: string): void {
  assert.equal(typeof message, 'string', context)
  assert.ok((message as string).length <= 500, `${context}: an error message of ${(message as string).length} characters`)
  assert.doesNotMatch(message as string, LEAK, context)
}

/** Stored data as the REST API shows it (without `online`, which is presence, not storage). */
async function snapshot (app: FastifyInstance): Promise<unknown> {
  const list = await app.inject({ method: 'GET', url: '/rooms?limit=100' })
  assert.equal(list.statusCode, 200)
  const rooms = (list.json() as { rooms: Frame[] }).rooms
  const state: Record<string, unknown> = {}
  for (const { online: _online, ...room } of rooms) {
    const messages = await app.inject({ method: 'GET', url: `/rooms/${room.id}/messages?limit=100` })
    state[room.id] = { room, messages: messages.json() }
  }
  return state
}

// ---- arbitraries --------------------------------------------------------------------

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code))
const edgeChar = fc.oneof(
  loneSurrogate,
  fc.constantFrom('\u0000', '\u0007', '\u200b', '\u202e', '\ufeff', '\uffff', '\ufffd', '😀', '\u{10ffff}', 'e\u0301', '\n', '"', '\\', '/', '%'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })
)
const edgeString = fc.string({ unit: edgeChar, maxLength: 40 })
const idLike = fc.oneof(
  { arbitrary: fc.constantFrom('lobby', 'lobby', 'vault', 'side', 'nope', '', '.', '..', '__proto__', 'constructor'), weight: 4 },
  fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/),
  edgeString,
  fc.string({ minLength: 65, maxLength: 90 })
)
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }), idLike, fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
  fc.constantFrom(-1, 0, 1, 1.5, 100, 101, 2 ** 31, 2 ** 53, -0, 1e308, '1', '0', [], {})
)
const refLike = fc.option(fc.oneof(fc.string({ maxLength: 64 }), edgeString, fc.string({ minLength: 65, maxLength: 80 }), anyValue), { nil: undefined })
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__')
const frameType = fc.oneof(
  fc.constantFrom('join', 'leave', 'message', 'history', 'ping', 'refresh'),
  fc.constantFrom('JOIN', 'welcome', 'error', 'ack', '__proto__', 'constructor', 'toString', ''),
  edgeString,
  anyValue
)

/** An object written key by key, so duplicate and `__proto__` keys reach the server as such. */
const objectText = (entries: [string, unknown][]) =>
  '{' + entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',') + '}'

const frameShaped = fc.tuple(
  fc.option(frameType, { nil: undefined }),
  fc.array(fc.tuple(
    fc.oneof(fc.constantFrom('room', 'text', 'since', 'before', 'limit', 'ref', 'token', 'user', 'type'), hostileKey, edgeString),
    anyValue
  ), { maxLength: 6 })
).map(([type, fields]) => objectText(type === undefined ? fields : [['type', type], ...fields]))

const plausible = fc.oneof(
  fc.record({ type: fc.constant('join'), room: idLike, since: fc.option(fc.oneof(fc.nat(), anyValue), { nil: undefined }), ref: refLike }),
  fc.record({ type: fc.constant('leave'), room: idLike, ref: refLike }),
  fc.record({ type: fc.constant('message'), room: idLike, text: fc.oneof(edgeString, anyValue, fc.string({ maxLength: 5000 })), ref: refLike }),
  fc.record({ type: fc.constant('history'), room: idLike, before: fc.option(anyValue, { nil: undefined }), limit: fc.option(anyValue, { nil: undefined }), ref: refLike }),
  fc.record({ type: fc.constant('ping'), ref: refLike, extra: fc.option(anyValue, { nil: undefined }) }),
  fc.record({ type: fc.constant('refresh'), token: fc.oneof(fc.string(), anyValue), ref: refLike })
).map((frame) => JSON.stringify(frame))

const withHostileKeys = fc.tuple(plausible, fc.array(fc.tuple(hostileKey, fc.oneof(anyValue, fc.constant({ type: 'ping', room: 'lobby', ref: 'proto' }))), { minLength: 1, maxLength: 3 }))
  .map(([text, extra]) => text.replace(/^\{/, objectText(extra).slice(0, -1) + (text === '{}' ? '' : ',')))

const deep = fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.constantFrom<[string, string]>(['[', ']'], ['{"a":', '}']), fc.boolean())
  .map(([depth, [open, close], wrapped]) => {
    const value = open.repeat(depth) + '1' + close.repeat(depth)
    return wrapped ? `{"type":"join","room":${value},"ref":"deep"}` : value
  })

const huge = fc.tuple(fc.integer({ min: 1000, max: 15_000 }), fc.constantFrom('text', 'room', 'ref', 'token', 'unknown', 'array'))
  .map(([size, field]) => {
    if (field === 'array') return JSON.stringify({ type: 'ping', ref: 'arr', list: Array(Math.floor(size / 2)).fill(1) })
    const frame: Frame = { type: field === 'token' ? 'refresh' : 'message', room: 'lobby', text: 'hi', ref: 'huge' }
    frame[field] = 'x'.repeat(size)
    return JSON.stringify(frame)
  })

const rawText = fc.oneof(
  fc.json(), fc.jsonValue().map((value) => JSON.stringify(value)), fc.string({ unit: 'binary', maxLength: 200 }), edgeString,
  fc.constantFrom('', ' ', 'null', 'true', '1', '[]', '{}', '"ping"', '{"type":"ping"', '{"type":"ping"}garbage', '{"type":"ping"}{"type":"ping"}', '\u0000')
)

type Input = { binary: false, data: string } | { binary: true, data: Uint8Array }

const wsInput: fc.Arbitrary<Input> = fc.oneof(
  ...[[rawText, 2], [frameShaped, 2], [plausible, 5], [withHostileKeys, 2], [deep, 1], [huge, 1]].map(([arbitrary, weight]) => ({
    arbitrary: (arbitrary as fc.Arbitrary<string>).map((data): Input => ({ binary: false, data })), weight: weight as number
  })),
  {
    arbitrary: fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.constant(new Uint8Array(Buffer.from('{"type":"ping","ref":"bin"}'))))
      .map((data): Input => ({ binary: true, data })),
    weight: 1
  }
).filter((input) => (input.binary ? input.data.byteLength : Buffer.byteLength(input.data)) <= MAX_PAYLOAD)

/** The ref the server must echo: a string of at most 64 UTF-16 units under an own `ref` key of an object. */
function expectedRef (input: Input): string | undefined {
  if (input.binary) return undefined
  let value: unknown
  try {
    value = JSON.parse(input.data)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, 'ref')) return undefined
  const ref = (value as { ref: unknown }).ref
  return typeof ref === 'string' && ref.length <= 64 ? ref : undefined
}

// ---- tests --------------------------------------------------------------------------

test('text frames that are not valid UTF-8 close with 1007; others are unaffected', async (t) => {
  const server = await startServer(t)
  const bystander = await connectAs(t, server, 'bystander')
  await bystander.join('lobby')
  const invalid = [
    [0x7b, 0xff, 0xfe, 0x7d], // bytes that never occur in UTF-8
    [0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x7d], // an overlong encoding of '/'
    [0x22, 0xed, 0xa0, 0x80, 0x22], // a UTF-16 surrogate encoded as UTF-8
    [0x22, 0xe2, 0x82] // a truncated sequence
  ]
  for (const bytes of invalid) {
    const client = await connectAs(t, server, 'sender')
    client.ws.send(Buffer.from(bytes), { binary: false })
    const closed = await client.closed
    assert.equal(closed.code, 1007, Buffer.from(bytes).toString('hex'))
  }
  assert.equal((await bystander.request({ type: 'message', room: 'lobby', text: 'still fine' })).type, 'ack')
  assert.equal((await http(server.url, 'GET', '/rooms/lobby/messages')).body.messages.length, 1)
})

test('random frames: valid replies or error frames, no leaked exception, no change to stored data on rejection', async (t) => {
  const server = await startServer(t, { CHAT_MSG_RATE: 100_000, CHAT_MAX_PAYLOAD: MAX_PAYLOAD })
  const { app } = server
  await http(server.url, 'POST', '/rooms', { id: 'vault', private: true })
  await http(server.url, 'POST', '/rooms', { id: 'side' })
  const bystander = await connectAs(t, server, 'bystander')
  await bystander.join('lobby')
  await bystander.join('side')
  for (let i = 0; i < 3; i++) await bystander.request({ type: 'message', room: 'lobby', text: `seed ${i}` })
  const fuzzer = await connectAs(t, server, 'fuzzer')
  const restBefore = await snapshot(app)

  let run = 0
  let accepted = 0
  await fc.assert(fc.asyncProperty(wsInput, async (input) => {
    run++
    const before = await snapshot(app)
    fuzzer.frames.length = 0
    if (input.binary) fuzzer.ws.send(input.data, { binary: true })
    else fuzzer.send(input.data)
    // Frames of one connection are handled in order: the pong comes after the reply.
    const sync = `sync:${run}`
    fuzzer.send({ type: 'ping', ref: sync })
    await fuzzer.next((frame) => frame.type === 'pong' && frame.ref === sync)
    const received = fuzzer.frames.splice(0)
    let replies = received.filter((frame) => !BROADCASTS.has(frame.type))
    // A message is acknowledged once stored, which may be after the pong.
    if (replies.length === 0) replies = [await fuzzer.next((frame) => !BROADCASTS.has(frame.type), 2000)]
    const context = `input ${JSON.stringify(input.binary ? `binary ${input.data.byteLength} bytes` : input.data.slice(0, 300))}`
    assert.equal(replies.length, 1, `${context}: replies ${JSON.stringify(replies).slice(0, 500)}`)
    const reply = replies[0]!
    for (const frame of [...received, reply]) {
      assert.ok(SERVER_TYPES.has(frame.type), `${context}: ${JSON.stringify(frame).slice(0, 300)}`)
    }
    assert.equal(reply.ref, expectedRef(input), `${context}: ref of ${JSON.stringify(reply).slice(0, 300)}`)
    const after = await snapshot(app)
    if (reply.type === 'error') {
      assert.ok(ERROR_CODES.has(reply.code), context)
      assert.notEqual(reply.code, 'internal', `${context}: ${reply.message}`)
      assertNoLeak(reply.message, context)
      assert.deepEqual(after, before, `${context}: stored data changed by a rejected frame`)
    } else {
      accepted++
    }
    assert.equal(fuzzer.ws.readyState, fuzzer.ws.OPEN, context)

    // The bystander keeps chatting through all of it.
    if (run % 25 === 0) {
      const text = `bystander ${run}`
      assert.equal((await bystander.request({ type: 'message', room: 'side', text })).type, 'ack')
      assert.equal((await bystander.next((frame) => frame.type === 'message' && frame.text === text)).room, 'side')
    } else {
      assert.equal((await bystander.request({ type: 'ping' })).type, 'pong')
    }
    bystander.frames.length = 0
  }), { numRuns: RUNS, seed: SEED, endOnFailure: true })

  assert.equal(run, RUNS)
  assert.ok(accepted < RUNS, 'most random frames are rejected')
  assert.equal((await http(server.url, 'GET', '/healthz')).status, 200)
  // Rooms that existed are as they were, apart from what accepted frames and the bystander did.
  const restAfter = await snapshot(app) as Record<string, { room: Frame, messages: { messages: Frame[] } }>
  for (const [id, { room, messages }] of Object.entries(restBefore as Record<string, { room: Frame, messages: { messages: Frame[] } }>)) {
    assert.deepEqual(restAfter[id]?.room, room, `room ${id}`)
    assert.deepEqual(restAfter[id]!.messages.messages.slice(0, messages.messages.length), messages.messages, `messages of ${id}`)
  }
})

// ---- REST ---------------------------------------------------------------------------

const encode = (text: string) => {
  try {
    return encodeURIComponent(text)
  } catch {
    return 'x'
  }
}
const percentJunk = fc.stringMatching(/^(%[0-9A-Fa-fG-Zg-z]{0,2}|[a-z0-9.])+$/, { maxLength: 20 })
const segment = fc.oneof(
  { arbitrary: fc.constantFrom('lobby', 'vault', 'nope', 'grants', 'messages', 'online', 'alice'), weight: 6 },
  fc.constantFrom(
    '..', '.', '%2e%2e', '%2F', '%00', '%', '%ZZ', '%C0%AF', '%E2%80%AE', '%F0%9F%98%80', '%ED%A0%80', '%FF',
    '__proto__', 'constructor', 'x'.repeat(65)
  ),
  fc.string({ maxLength: 30 }).map(encode),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encode),
  edgeString.map(encode),
  fc.stringMatching(/^[A-Za-z0-9_.-]{1,70}$/),
  percentJunk
)
const pathArb = fc.tuple(
  fc.constantFrom('/rooms', '/rooms', '/rooms', '/rooms', '/rooms', '/rooms', '/room', '', '/ws', '/healthz'),
  fc.array(segment, { maxLength: 3 }),
  fc.option(fc.array(fc.tuple(
    fc.constantFrom('limit', 'cursor', 'before', 'token', 'user', '__proto__', 'constructor'),
    fc.oneof(fc.string({ maxLength: 20 }).map(encode), fc.integer().map(String), percentJunk, fc.constantFrom('', '0', '101', '1e3', '-1', '1.5', 'null'))
  ), { maxLength: 3 }), { nil: undefined })
).map(([base, segments, query]) => {
  const path = base + segments.map((part) => '/' + part).join('')
  const search = query === undefined ? '' : '?' + query.map(([key, value]) => `${key}=${value}`).join('&')
  return (path === '' ? '/' : path) + search
})
const bodyArb = fc.option(fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
  fc.record({ id: idLike, name: fc.option(anyValue, { nil: undefined }), private: fc.option(anyValue, { nil: undefined }), historyLimit: fc.option(anyValue, { nil: undefined }) }, { requiredKeys: [] })
    .map((body) => JSON.stringify(body)),
  fc.record({ text: fc.oneof(edgeString, anyValue), user: fc.option(idLike, { nil: undefined }) }, { requiredKeys: [] }).map((body) => JSON.stringify(body)),
  fc.array(fc.tuple(fc.oneof(hostileKey, fc.constantFrom('id', 'name', 'text', 'private')), anyValue), { maxLength: 4 }).map(objectText),
  fc.string({ maxLength: 100 }),
  fc.integer({ min: 1, max: 2000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth))
), { nil: undefined })
const routes: [method: string, path: string][] = [
  ['POST', '/rooms'], ['GET', '/rooms'], ['GET', '/rooms/:id'], ['PATCH', '/rooms/:id'], ['DELETE', '/rooms/:id'],
  ['GET', '/rooms/:id/online'], ['PUT', '/rooms/:id/grants/:user'], ['DELETE', '/rooms/:id/grants/:user'],
  ['GET', '/rooms/:id/messages'], ['POST', '/rooms/:id/messages']
]
/** A real route with random parameters and body, so that some calls get past routing. */
const routed = fc.tuple(fc.constantFrom(...routes), segment, segment, fc.option(pathArb.map((path) => path.replace(/^[^?]*/, '')), { nil: '' }), bodyArb)
  .map(([[method, template], id, user, search, body]) => ({
    method, path: template.replace(':id', id).replace(':user', user) + search, body
  }))
const restInput = fc.oneof(
  fc.record({ method: fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'), path: pathArb, body: bodyArb }),
  routed
)

test('random REST calls: never a 5xx, JSON errors, no change to stored data unless the call succeeded', async (t) => {
  const server = await startServer(t)
  const { app } = server
  await http(server.url, 'POST', '/rooms', { id: 'lobby' })
  await http(server.url, 'POST', '/rooms', { id: 'vault', private: true })
  for (let i = 0; i < 3; i++) await http(server.url, 'POST', '/rooms/lobby/messages', { text: `seed ${i}` })
  let succeeded = 0

  await fc.assert(fc.asyncProperty(restInput, async ({ method, path, body }) => {
    const before = await snapshot(app)
    const response = await http(server.url, method, path, method === 'GET' ? undefined : body)
    const context = `${method} ${path} ${body?.slice(0, 200) ?? ''} → ${response.status} ${response.text.slice(0, 300)}`
    assert.ok(response.status < 500, context)
    if (response.status >= 400) {
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/, context)
      assert.equal(response.body?.statusCode, response.status, context)
      assert.equal(typeof response.body.error, 'string', context)
      assertNoLeak(response.body.message, context)
      assert.deepEqual(await snapshot(app), before, `${context}: stored data changed by a refused call`)
    } else {
      succeeded++
    }
  }), { numRuns: RUNS, seed: SEED, endOnFailure: true })

  assert.ok(succeeded < RUNS, 'most random calls are refused')
  assert.equal((await http(server.url, 'GET', '/healthz')).status, 200)
})
