// An app of its own that adds chat: its routes, its sign-in and its WebSocket route stay as they
// are; fastify-chat serves the chat under /chat, and the app's signed-in user is the chat user.
//
//   npm install && node server.js     then open http://localhost:3000/
import { randomBytes } from 'node:crypto'
import fastifyWebsocket from '@fastify/websocket'
import Fastify from 'fastify'
import chat from 'fastify-chat'

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' } })

// The app's own sessions (a real app keeps them in its database or uses @fastify/session).
const sessions = new Map()
const sessionOf = (request) => sessions.get(/(?:^|;\s*)session=([0-9a-f]+)/.exec(request.headers.cookie ?? '')?.[1])

await app.register(fastifyWebsocket)
app.get('/', async (request, reply) => {
  const user = sessionOf(request)
  return reply.type('text/html').send(user === undefined
    ? '<form action="/login"><label>Name <input name="user" pattern="[A-Za-z0-9_.-]{1,64}" required></label> <button>Sign in</button></form>'
    : `<p>Signed in as ${user}. <a href="/chat/">Open the chat</a></p>`)
})
app.get('/login', async (request, reply) => {
  const user = String(request.query.user ?? '')
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(user)) return reply.code(400).send({ message: 'a name is 1 to 64 letters, digits, dots, dashes or underscores' })
  const session = randomBytes(16).toString('hex')
  sessions.set(session, user)
  return reply.header('set-cookie', `session=${session}; HttpOnly; SameSite=Lax; Path=/`).redirect('/')
})
// The app's own WebSocket route, next to the chat's.
app.get('/clock', { websocket: true }, (socket) => socket.send(new Date().toISOString()))

await app.register(chat, {
  prefix: '/chat',
  db: process.env.CHAT_DB ?? './chat.sqlite',
  adminToken: process.env.CHAT_ADMIN_TOKEN,
  // The chat asks the app who opens a WebSocket: its session cookie goes along with the upgrade.
  authenticate: (request) => {
    const user = sessionOf(request)
    return user === undefined ? undefined : { user }
  }
})

// The app reaches the service too: a room for everyone, made when the app starts.
app.addHook('onReady', async () => { await app.chat.rooms.create({ id: 'lobby', name: 'Lobby' }) })

await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' })

// Closing the app closes the chat too: its clients get 1001, its database is flushed and closed.
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
