import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Parser } from '@asyncapi/parser'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { serviceProtocol } from '../../src/features/protocol.ts'
import { eventSchema } from '../../src/schemas/webhooks.ts'
import { connectAs, http, startServer } from '../helper.ts'

/** @asyncapi/parser's diagnostic severities: 0 error, 1 warning, 2 information, 3 hint. */
const WARNING = 1

const asPlain = (schema: TSchema) => JSON.parse(JSON.stringify(schema)) as unknown

test('GET /docs/asyncapi.json is an AsyncAPI 3.0 document @asyncapi/parser finds no error or warning in', async (t) => {
  const server = await startServer(t)
  const reply = await http(server.url, 'GET', '/docs/asyncapi.json')
  assert.equal(reply.status, 200)
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/)
  assert.equal(reply.body.asyncapi, '3.0.0')

  const { document, diagnostics } = await new Parser().parse(reply.text)
  const problems = diagnostics.filter((diagnostic) => diagnostic.severity <= WARNING)
  assert.deepEqual(problems.map((problem) => `${problem.code}: ${problem.message} at ${problem.path.join('/')}`), [])
  assert.ok(document !== undefined)

  // The /ws channel, with the ways to authenticate and why connections are closed.
  const channel = document.channels().get('chat')
  assert.equal(channel?.address(), new URL(server.wsUrl).pathname, 'the WebSocket route, under the prefix when mounted')
  assert.match(channel?.description() ?? '', /1013/)
  for (const code of ['1001', '1007', '1008', '1009', '1013']) assert.ok(reply.body.channels.chat['x-close-codes'][code], `close code ${code}`)
  const schemes = reply.body.components.securitySchemes
  assert.deepEqual([schemes.jwtQuery.in, schemes.jwtQuery.name], ['query', 'token'])
  assert.deepEqual([schemes.jwtHeader.scheme, schemes.jwtHeader.bearerFormat], ['bearer', 'JWT'])
  assert.match(schemes.devUser.description, /dev mode/i)
  assert.equal(document.servers().all().length, 3)
  for (const name of ['plain', 'tls']) assert.equal(document.servers().get(name)?.security().length, 3, name)
  assert.equal(document.servers().get('receivers')?.security().length, 1, 'webhook receivers check a signature')
})

test('every frame schema of both registries is a message of the document, with the very schema that validates it', async (t) => {
  const server = await startServer(t)
  const reply = await http(server.url, 'GET', '/docs/asyncapi.json')
  const { document } = await new Parser().parse(reply.text)
  assert.ok(document !== undefined)
  const messages = reply.body.components.messages as Record<string, { name: string, payload: unknown }>
  const operations = reply.body.operations as Record<string, { action: string, messages: { $ref: string }[] }>

  const registries = [['client', 'receive', serviceProtocol.clientFrames], ['server', 'send', serviceProtocol.serverFrames]] as const
  let frames = 0
  for (const [side, action, registry] of registries) {
    for (const [type, schema] of Object.entries(registry)) {
      // A registry key is the frame's type.
      assert.equal((asPlain(schema) as { properties: { type: { const: string } } }).properties.type.const, type)
      const key = `${side}.${type}`
      assert.ok(messages[key] !== undefined, `${key} is a message`)
      assert.equal(messages[key].name, type)
      assert.deepEqual(messages[key].payload, asPlain(schema), `${key}: the payload is the frame's schema`)
      assert.ok(document.channels().get('chat')?.messages().has(key), `${key} is on the /ws channel`)
      const operation: { action: string, messages: { $ref: string }[] } | undefined = operations[`${action}.${key}`]
      assert.equal(operation?.action, action, `${key} is ${action}d by the service`)
      assert.deepEqual(operation?.messages, [{ $ref: `#/channels/chat/messages/${key}` }])
      frames++
    }
  }
  const events = Object.keys(messages).filter((key) => key.startsWith('webhook.'))
  assert.equal(Object.keys(messages).length - events.length, frames, 'no message without a frame schema')
  assert.equal(document.allMessages().length, frames + events.length)
})

test('every webhook event type is a message sent on the webhooks channel, with the schema of its body and the signature headers', async (t) => {
  const server = await startServer(t)
  const reply = await http(server.url, 'GET', '/docs/asyncapi.json')
  const { document } = await new Parser().parse(reply.text)
  assert.ok(document !== undefined)
  const messages = reply.body.components.messages as Record<string, { name: string, payload: unknown, headers: { required: string[] } }>
  for (const [type, definition] of Object.entries(serviceProtocol.events)) {
    const schema = eventSchema(type, definition)
    const key = `webhook.${type}`
    assert.deepEqual(messages[key]?.payload, asPlain(schema), `${key}: the payload is the event's schema`)
    assert.deepEqual(messages[key]?.headers.required.sort(), ['webhook-id', 'webhook-signature', 'webhook-timestamp'])
    assert.ok(document.channels().get('webhooks')?.messages().has(key), `${key} is on the webhooks channel`)
    assert.equal(reply.body.operations[`send.${key}`]?.action, 'send')
  }
  assert.equal(Object.keys(messages).filter((key) => key.startsWith('webhook.')).length, Object.keys(serviceProtocol.events).length)
})

test('frames the server really sends match the payload schemas of the document', async (t) => {
  const server = await startServer(t)
  const messages = (await http(server.url, 'GET', '/docs/asyncapi.json')).body.components.messages as Record<string, { payload: TSchema }>
  const alice = await connectAs(t, server, 'alice')
  const bob = await connectAs(t, server, 'bob')
  const seen: Record<string, unknown>[] = []
  for (const client of [alice, bob]) client.ws.on('message', (data) => seen.push(JSON.parse(data.toString()) as Record<string, unknown>))
  await alice.join('lobby')
  await bob.join('lobby')
  await alice.request({ type: 'message', room: 'lobby', text: 'hi' })
  await bob.next('message')
  await alice.request({ type: 'history', room: 'lobby' })
  await alice.request({ type: 'ping' })
  await alice.request({ type: 'leave', room: 'nowhere' })
  await alice.request({ type: 'leave', room: 'lobby' })
  await bob.next((frame) => frame.type === 'presence' && frame.event === 'leave')

  const types = new Set<string>()
  for (const frame of seen) {
    const payload = messages[`server.${String(frame.type)}`]?.payload
    assert.ok(payload !== undefined, `server frame ${String(frame.type)} is in the document`)
    assert.ok(Compile(payload).Check(frame), `${JSON.stringify(frame)} matches its payload schema`)
    types.add(String(frame.type))
  }
  assert.deepEqual([...types].sort(), ['ack', 'error', 'history', 'joined', 'left', 'message', 'pong', 'presence'])
})
