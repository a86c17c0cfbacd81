import assert from 'node:assert/strict'
import { test } from 'node:test'
import { serviceProtocol } from '../../src/features/protocol.ts'
import { createFrameParser, type ParseResult } from '../../src/protocol/frame-parser.ts'

const frames = serviceProtocol.clientFrames

const parse = createFrameParser({ maxText: 10, frames })

function rejected (result: ParseResult): { message: string, ref?: string } {
  assert.equal(result.ok, false, `expected a rejection, got ${JSON.stringify(result)}`)
  return result as { ok: false, message: string, ref?: string }
}

function accepted (result: ParseResult) {
  assert.equal(result.ok, true, `expected a frame, got ${JSON.stringify(result)}`)
  return (result as { ok: true, frame: Record<string, unknown> }).frame
}

test('every client frame type is accepted in its valid forms', () => {
  const valid = [
    { type: 'join', room: 'lobby' },
    { type: 'join', room: 'lobby', since: 0 },
    { type: 'join', room: 'a'.repeat(64), since: 12, ref: 'r' },
    { type: 'leave', room: 'Room_1.b-c' },
    { type: 'message', room: 'lobby', text: 'hi' },
    { type: 'message', room: 'lobby', text: 'x'.repeat(10), ref: 'x'.repeat(64) },
    { type: 'history', room: 'lobby' },
    { type: 'history', room: 'lobby', before: 1, limit: 1 },
    { type: 'history', room: 'lobby', limit: 100 },
    { type: 'ping' },
    { type: 'ping', ref: '' },
    { type: 'refresh', token: 'abc' }
  ]
  for (const frame of valid) assert.deepEqual(accepted(parse(JSON.stringify(frame))), frame)
})

test('not JSON, or JSON that is not an object, is rejected', () => {
  for (const raw of ['', '{', '{"type":"ping"', 'ping', "{'type':'ping'}", '{"type":"ping"}}']) {
    assert.match(rejected(parse(raw)).message, /not valid JSON/, raw)
  }
  for (const raw of ['[]', '[{"type":"ping"}]', '42', '-1.5', 'null', 'true', '"ping"']) {
    assert.match(rejected(parse(raw)).message, /must be a JSON object/, raw)
  }
})

test('a missing, non-string or unknown type is rejected and named', () => {
  for (const raw of ['{}', '{"type":null}', '{"type":7}', '{"type":["ping"]}', '{"room":"lobby"}']) {
    assert.match(rejected(parse(raw)).message, /type/, raw)
  }
  for (const type of ['shout', 'PING', 'welcome', 'toString', 'constructor', '__proto__', 'hasOwnProperty', '']) {
    const { message } = rejected(parse(JSON.stringify({ type })))
    assert.match(message, /unknown frame type/, type)
    assert.match(message, /join, leave, message, history, ping/, 'the error lists the known types')
  }
  // A long unknown type is not echoed in full.
  assert.ok(rejected(parse(JSON.stringify({ type: 'y'.repeat(10_000) }))).message.length < 300)
})

test('wrong or missing fields are rejected with the field named', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ type: 'join' }, 'room'],
    [{ type: 'join', room: 5 }, 'room'],
    [{ type: 'join', room: null }, 'room'],
    [{ type: 'join', room: '' }, 'room'],
    [{ type: 'join', room: 'a b' }, 'room'],
    [{ type: 'join', room: 'a'.repeat(65) }, 'room'],
    [{ type: 'join', room: 'ü' }, 'room'],
    [{ type: 'join', room: 'lobby', since: -1 }, 'since'],
    [{ type: 'join', room: 'lobby', since: 1.5 }, 'since'],
    [{ type: 'join', room: 'lobby', since: '3' }, 'since'],
    [{ type: 'leave' }, 'room'],
    [{ type: 'leave', room: 'a/b' }, 'room'],
    [{ type: 'message', room: 'lobby' }, 'text'],
    [{ type: 'message', text: 'hi' }, 'room'],
    [{ type: 'message', room: 'lobby', text: 5 }, 'text'],
    [{ type: 'message', room: 'lobby', text: '' }, 'text'],
    [{ type: 'message', room: 'lobby', text: ['hi'] }, 'text'],
    [{ type: 'history', room: 'lobby', limit: 0 }, 'limit'],
    [{ type: 'history', room: 'lobby', limit: 101 }, 'limit'],
    [{ type: 'history', room: 'lobby', limit: 2.5 }, 'limit'],
    [{ type: 'history', room: 'lobby', limit: '5' }, 'limit'],
    [{ type: 'history', room: 'lobby', before: 0 }, 'before'],
    [{ type: 'history', room: 'lobby', before: -3 }, 'before'],
    [{ type: 'history', room: 'lobby', before: 1.5 }, 'before'],
    [{ type: 'history', limit: 5 }, 'room'],
    [{ type: 'refresh' }, 'token'],
    [{ type: 'refresh', token: '' }, 'token']
  ]
  for (const [frame, field] of cases) {
    const { message, ref } = rejected(parse(JSON.stringify(frame)))
    assert.match(message, new RegExp(`\\b${field}\\b`), `${JSON.stringify(frame)} → ${message}`)
    assert.ok(message.startsWith(`${String(frame.type)}:`), `names the frame type: ${message}`)
    assert.equal(ref, undefined)
  }
})

test('text is limited to maxText characters, counted as code points', () => {
  const ok = (text: string) => accepted(parse(JSON.stringify({ type: 'message', room: 'r', text })))
  const tooLong = (text: string) => rejected(parse(JSON.stringify({ type: 'message', room: 'r', text }))).message
  ok('x'.repeat(10))
  ok('😀'.repeat(10)) // 20 UTF-16 code units
  ok('é'.repeat(10))
  ok('😀'.repeat(5) + 'x'.repeat(5))
  for (const text of ['x'.repeat(11), '😀'.repeat(11), '😀'.repeat(10) + 'x', 'x'.repeat(4000)]) {
    assert.match(tooLong(text), /text must be at most 10 characters/)
  }
  const roomy = createFrameParser({ maxText: 4000, frames })
  assert.equal(roomy(JSON.stringify({ type: 'message', room: 'r', text: 'x'.repeat(4000) })).ok, true)
  assert.equal(roomy(JSON.stringify({ type: 'message', room: 'r', text: 'x'.repeat(4001) })).ok, false)
})

test('ref: a bad one is the error and is not echoed; a good one is echoed on errors', () => {
  for (const ref of [5, null, true, { a: 1 }, ['r'], 'x'.repeat(65)]) {
    const result = rejected(parse(JSON.stringify({ type: 'ping', ref })))
    assert.match(result.message, /\bref\b/)
    assert.equal(result.ref, undefined)
  }
  // The bad ref wins over other problems, and is still not echoed.
  const both = rejected(parse(JSON.stringify({ type: 'join', room: 'a b', ref: 'x'.repeat(65) })))
  assert.match(both.message, /\bref\b/)
  assert.equal(both.ref, undefined)

  const good = 'ref-1'
  const errors = [
    { type: 'shout', ref: good },
    { ref: good },
    { type: 7, ref: good },
    { type: 'join', room: 'a b', ref: good },
    { type: 'message', room: 'r', text: '', ref: good },
    { type: 'message', room: 'r', text: 'x'.repeat(11), ref: good },
    { type: 'history', room: 'r', limit: 0, ref: good }
  ]
  for (const frame of errors) assert.equal(rejected(parse(JSON.stringify(frame))).ref, good, JSON.stringify(frame))
  assert.equal(accepted(parse(JSON.stringify({ type: 'ping', ref: 'x'.repeat(64) }))).ref, 'x'.repeat(64))
})

test('unknown fields are ignored and kept out of harm', () => {
  const frame = accepted(parse('{"type":"message","room":"r","text":"hi","color":"red","seq":3,"user":"mallory"}'))
  assert.equal(frame.type, 'message')
  assert.equal(frame.text, 'hi')

  // JSON.parse turns these into own properties; they must not decide the type or reach prototypes.
  const hidden = rejected(parse('{"__proto__":{"type":"ping"}}'))
  assert.match(hidden.message, /type/)
  const ping = accepted(parse('{"type":"ping","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'))
  assert.equal(ping.type, 'ping')
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
  assert.equal(Object.getPrototypeOf(ping), Object.prototype)
  assert.equal(ping.ref, undefined, 'a ref nested under __proto__ is not a ref')
})

test('parsers are independent and reusable', () => {
  const small = createFrameParser({ maxText: 2, frames })
  const ok = JSON.stringify({ type: 'message', room: 'r', text: 'abc' })
  assert.equal(small(ok).ok, false)
  assert.equal(parse(ok).ok, true)
  for (let i = 0; i < 3; i++) assert.equal(parse(ok).ok, true)
})
