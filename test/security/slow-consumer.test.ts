import assert from 'node:assert/strict'
import type { Socket } from 'node:net'
import { test } from 'node:test'
import type { WebSocket } from 'ws'
import { captureLogs, connectAs, eventually, type Frame, http, startServer } from '../helper.ts'

const SEND_BUFFER = 65_536
/**
 * The kernel buffers a few MB per loopback connection before the server's own buffer grows,
 * so the flood runs until the slow client is cut, then AFTER_CUT more; LIMIT bounds it.
 */
const AFTER_CUT = 500
const LIMIT = 8000
const TEXT = 'm'.repeat(4096)
/** Messages the flooder keeps in flight: enough to keep the server busy, few enough to be bounded. */
const WINDOW = 8

const tcp = (ws: WebSocket) => (ws as unknown as { _socket: Socket })._socket

test('a slow consumer is closed with 1013 and freed while the room keeps receiving', async (t) => {
  const logs = captureLogs()
  const server = await startServer(t, {
    CHAT_SEND_BUFFER: SEND_BUFFER, CHAT_MSG_RATE: 100_000, CHAT_MAX_TEXT: TEXT.length, CHAT_HISTORY_LIMIT: LIMIT, LOG_LEVEL: 'warn'
  }, logs.stream)
  const registry = server.app.connectionRegistry

  const slow = await connectAs(t, server, 'slow')
  const slowJoined = await slow.join('stream')
  assert.equal(slowJoined.seq, 0)
  const reader = await connectAs(t, server, 'reader')
  await reader.join('stream')
  const flooder = await connectAs(t, server, 'flooder')
  await flooder.join('stream')
  await slow.next((frame) => frame.type === 'presence' && frame.user === 'flooder')
  const [slowConnection] = [...registry].filter((connection) => connection.user === 'slow')
  assert.ok(slowConnection !== undefined)

  // The slow client stops reading: its kernel buffers fill, then the server's.
  tcp(slow.ws).pause()

  const readerSeqs: number[] = []
  reader.ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Frame
    if (frame.type === 'message') readerSeqs.push(frame.seq as number)
  })

  let maxRegistryBuffered = 0
  let maxSlowBuffered = 0
  const sample = () => {
    maxRegistryBuffered = Math.max(maxRegistryBuffered, registry.bufferedBytes())
    maxSlowBuffered = Math.max(maxSlowBuffered, slowConnection.socket.bufferedAmount)
  }
  const sampler = setInterval(sample, 5)
  t.after(() => clearInterval(sampler))

  // The flooder keeps WINDOW messages in flight, sending the next one as each ack arrives.
  let sent = 0
  let acked = 0
  let slowCutAt: number | undefined
  await new Promise<void>((resolve, reject) => {
    const send = () => {
      flooder.send({ type: 'message', room: 'stream', text: TEXT, ref: `m${sent}` })
      sent++
    }
    flooder.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame
      if (frame.type === 'error') reject(new Error(`flooder got ${JSON.stringify(frame)}`))
      if (frame.type !== 'ack') return
      acked++
      sample()
      if (slowCutAt === undefined && slowConnection.closed) slowCutAt = acked
      const target = slowCutAt === undefined ? LIMIT : Math.min(LIMIT, slowCutAt + AFTER_CUT)
      if (sent < target) send()
      else if (acked === sent) resolve()
    })
    flooder.ws.on('close', () => reject(new Error('the flooder was closed')))
    for (let i = 0; i < WINDOW; i++) send()
  })
  clearInterval(sampler)
  sample()

  // The slow one was cut during the flood, and held no more than its limit and one frame.
  assert.ok(slowCutAt !== undefined, `slow consumer not cut after ${sent} messages`)
  assert.equal(sent, slowCutAt + AFTER_CUT)
  const frameBytes = Buffer.byteLength(JSON.stringify({ type: 'message', text: TEXT })) + 512
  assert.ok(maxSlowBuffered <= SEND_BUFFER + frameBytes, `slow connection buffered ${maxSlowBuffered} bytes`)
  assert.ok(maxRegistryBuffered <= 3 * (SEND_BUFFER + frameBytes), `registry buffered ${maxRegistryBuffered} bytes`)
  assert.equal(server.app.rooms.stats.slowConsumers, 1)

  // Gone from the registry and from the room's presence; the others are still there.
  assert.equal(registry.get(slowConnection.id), undefined)
  assert.equal(registry.countForUser('slow'), 0)
  const online = await http(server.url, 'GET', '/rooms/stream/online')
  assert.deepEqual(online.body.users.map((entry: { user: string }) => entry.user).sort(), ['flooder', 'reader'])

  // The reader got every message, in order, with no gap.
  await eventually(() => readerSeqs.length === sent, 10_000, 'the reader receiving every message')
  assert.deepEqual(readerSeqs, Array.from({ length: sent }, (_, i) => i + 1))
  assert.equal(reader.ws.readyState, reader.ws.OPEN)
  assert.equal((await reader.request({ type: 'ping' })).type, 'pong')

  // When the slow client reads again, it finds what was buffered, then the close frame.
  tcp(slow.ws).resume()
  const closed = await slow.closed
  assert.equal(closed.code, 1013)
  const slowSeqs = slow.frames.filter((frame) => frame.type === 'message').map((frame) => frame.seq as number)
  assert.ok(slowSeqs.length <= slowCutAt + WINDOW, `the slow client got ${slowSeqs.length} messages`)
  assert.deepEqual(slowSeqs, Array.from({ length: slowSeqs.length }, (_, i) => i + 1), 'a prefix, with no gap')
  assert.equal(slowConnection.socket.bufferedAmount, 0)

  const metrics = await http(server.url, 'GET', '/metrics')
  assert.match(metrics.text, /^chat_slow_consumers_total 1$/m)
  // One warning, naming the user, its address and its rooms.
  const warnings = logs.lines().filter((line) => line.msg === 'slow consumer closed')
  assert.equal(warnings.length, 1)
  assert.equal(warnings[0]!.level, 40)
  assert.equal(warnings[0]!.user, 'slow')
  assert.equal(warnings[0]!.ip, '127.0.0.1')
  assert.deepEqual(warnings[0]!.rooms, ['stream'])
})
