import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import fastifyWebsocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import { WebSocket } from 'ws'
import chat, { ConfigError, type ChatPluginOptions } from '../../src/plugin.ts'
import { connectAs, http, tempDir } from '../helper.ts'

/** An app of someone else's: its own routes, its own WebSocket route (when `ownWebsocket`), and the chat under `prefix`. */
async function hostApp (t: TestContext, options: ChatPluginOptions, ownWebsocket = true): Promise<{ app: FastifyInstance, base: string, wsBase: string }> {
  const app = Fastify()
  if (ownWebsocket) {
    await app.register(fastifyWebsocket)
    app.get('/live', { websocket: true }, (socket) => socket.send('the app\'s own socket'))
  }
  app.get('/profile', async () => ({ app: 'own route' }))
  app.setErrorHandler((error: Error, _request, reply) => reply.code(418).send({ app: 'own error handler', message: error.message }))
  app.get('/boom', async () => { throw new Error('the app failed') })
  await app.register(chat, { db: ':memory:', rateLimit: 0, ...options })
  t.after(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { app, base: `http://127.0.0.1:${port}`, wsBase: `ws://127.0.0.1:${port}` }
}

function firstMessage (url: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers })
    socket.once('message', (data) => { resolve(data.toString()); socket.close() })
    socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)))
    socket.once('error', reject)
  })
}

test('mounted under /chat next to the app\'s own routes and @fastify/websocket: both work, neither touches the other', async (t) => {
  // port, host and trustProxy are the app's to carry out: accepted, without effect on the service.
  const { app, base, wsBase } = await hostApp(t, { prefix: '/chat', historyLimit: 50, port: 9, host: '10.9.9.9', trustProxy: 'true', logLevel: 'warn' })
  assert.deepEqual((await http(base, 'GET', '/profile')).body, { app: 'own route' })
  assert.equal(await firstMessage(`${wsBase}/live`), 'the app\'s own socket')
  const boom = await http(base, 'GET', '/boom')
  assert.deepEqual([boom.status, boom.body.app], [418, 'own error handler'], 'the app keeps its error handler')
  const missing = await http(base, 'GET', '/chat/nosuch')
  assert.deepEqual([missing.status, missing.body.message], [404, 'route GET /chat/nosuch not found'], 'the service answers its own 404s')

  assert.equal((await http(base, 'GET', '/chat/healthz')).status, 200)
  const created = await http(base, 'POST', '/chat/rooms', { id: 'lobby' })
  assert.deepEqual([created.status, created.body.historyLimit], [201, 50], 'options configure the service')
  const client = await connectAs(t, { wsUrl: `${wsBase}/chat/ws` }, 'alice')
  assert.equal((await client.request({ type: 'join', room: 'lobby' })).type, 'joined')
  assert.equal((await client.request({ type: 'message', room: 'lobby', text: 'hello' })).type, 'ack')
  assert.equal((await client.next('message')).text, 'hello')

  // app.chat: the service, typed, for the app's own code.
  assert.equal(app.chat.prefix, '/chat')
  assert.equal(app.chat.config.CHAT_HISTORY_LIMIT, 50)
  assert.ok(await app.chat.rooms.create({ id: 'from-the-app' }))
  assert.equal((await http(base, 'GET', '/chat/rooms/from-the-app')).status, 200)
  await app.chat.messages.post('lobby', 'system', 'posted by the app', {})
  assert.equal((await client.next('message')).text, 'posted by the app')

  const pages = await http(base, 'GET', '/chat/')
  assert.match(pages.text, /aria-label="Messages"/, 'the chat page under the prefix')
  assert.equal((await http(base, 'GET', '/chat/docs/json')).body.servers[0].url, '/chat', 'the OpenAPI document names the prefix')
  assert.match((await http(base, 'GET', '/chat/metrics')).text, /chat_connections /)
})

test('the app\'s own authentication hands its user to the chat; without it the upgrade is 401', async (t) => {
  const sessions = new Map([['s1', 'alice'], ['s2', 'not an id!']])
  const { base, wsBase } = await hostApp(t, {
    prefix: '/chat',
    // The app's own sessions: a cookie it set when its user signed in.
    authenticate: async (request) => {
      const session = /session=(\w+)/.exec(request.headers.cookie ?? '')?.[1]
      const user = session === undefined ? undefined : sessions.get(session)
      return user === undefined ? undefined : { user }
    }
  })
  assert.equal((await http(base, 'GET', '/chat/client-config')).body.auth, 'app', 'the chat page connects without asking')
  const welcome = JSON.parse(await firstMessage(`${wsBase}/chat/ws?user=mallory`, { cookie: 'session=s1' }))
  assert.deepEqual([welcome.type, welcome.user], ['welcome', 'alice'], 'the app decides, not ?user=')
  await assert.rejects(firstMessage(`${wsBase}/chat/ws?user=mallory`), /HTTP 401/)
  await assert.rejects(firstMessage(`${wsBase}/chat/ws`, { cookie: 'session=s2' }), /HTTP 401/, 'a user that is not an id')
})

test('without an app\'s @fastify/websocket the service brings its own; a frame over maxPayload closes with 1009 either way', async (t) => {
  for (const ownWebsocket of [false, true]) {
    const { wsBase } = await hostApp(t, { prefix: '/chat', maxPayload: 1024 }, ownWebsocket)
    const client = await connectAs(t, { wsUrl: `${wsBase}/chat/ws` }, 'alice')
    assert.equal((await client.request({ type: 'join', room: 'lobby' })).type, 'joined')
    client.ws.send(JSON.stringify({ type: 'message', room: 'lobby', text: 'x'.repeat(2000) }))
    assert.equal((await client.closed).code, 1009, `own websocket: ${ownWebsocket}`)
  }
})

test('options are validated like the environment, errors naming the option and its variable', async () => {
  const refused = async (options: Record<string, unknown>, message: RegExp) => {
    const app = Fastify()
    await assert.rejects(async () => { await app.register(chat, options as ChatPluginOptions).ready() }, (err: unknown) => err instanceof ConfigError && message.test(err.message))
    await app.close()
  }
  await refused({ historyLimit: -1 }, /^option historyLimit \(CHAT_HISTORY_LIMIT\): invalid value "-1"; expected an integer of at least 0/)
  await refused({ histroyLimit: 10 }, /^option histroyLimit: not an option of fastify-chat; the options are .*historyLimit/)
  await refused({ logLevel: 'loud' }, /^option logLevel \(LOG_LEVEL\): invalid value "loud"; expected one of fatal/)
  await refused({ webhookUrls: ['https://hooks.example.com'] }, /^option webhookSecret \(CHAT_WEBHOOK_SECRET\): required when CHAT_WEBHOOK_URLS is set/)
  await refused({ redisUrl: 'http://nope' }, /^option redisUrl \(REDIS_URL\): invalid value/)
})

test('closing the app closes the service: clients get 1001, the database is flushed and closed', async (t) => {
  const db = `${tempDir(t)}/chat.sqlite`
  const first = Fastify()
  await first.register(chat, { prefix: '/chat', db })
  await first.listen({ port: 0, host: '127.0.0.1' })
  const { port } = first.server.address() as { port: number }
  const client = await connectAs(t, { wsUrl: `ws://127.0.0.1:${port}/chat/ws` }, 'alice')
  await client.request({ type: 'join', room: 'lobby' })
  const sent = await client.request({ type: 'message', room: 'lobby', text: 'kept' })
  await first.close()
  assert.equal((await client.closed).code, 1001)

  const second = Fastify()
  await second.register(chat, { prefix: '/chat', db })
  t.after(() => second.close())
  await second.ready()
  const history = await second.chat.messages.history('lobby', { limit: 10, input: {} })
  assert.deepEqual(history.map((message) => [message.seq, message.text]), [[sent.seq, 'kept']])
})
