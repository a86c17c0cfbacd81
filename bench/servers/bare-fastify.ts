import { randomUUID } from 'node:crypto'
import BetterSqlite3 from 'better-sqlite3'
import Fastify from 'fastify'

/**
 * The REST reference: bare Fastify routes doing the SQLite work of the service's history
 * routes and nothing else (no plugins, no logger). Same tables and pragmas as the service;
 * GET is one prepared SELECT of the newest messages, POST one transaction that takes the
 * next seq, inserts the message and trims the room to its history limit.
 */

const port = Number(process.env.PORT ?? 3300)
const host = process.env.HOST ?? '127.0.0.1'
const historyLimit = 1000
const db = new BetterSqlite3(process.env.CHAT_DB ?? ':memory:')
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
db.exec(`
  CREATE TABLE IF NOT EXISTS rooms (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, private INTEGER NOT NULL DEFAULT 0,
    history_limit INTEGER, created_at TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS messages (
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE, seq INTEGER NOT NULL, id TEXT NOT NULL,
    user TEXT NOT NULL, text TEXT NOT NULL, time TEXT NOT NULL, PRIMARY KEY (room, seq)
  ) WITHOUT ROWID;
`)

interface MessageRow { room: string, seq: number, id: string, user: string, text: string, time: string }

const insertRoom = db.prepare<[string, string, string]>('INSERT INTO rooms (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING')
const newest = db.prepare<[string, number], MessageRow>(
  'SELECT room, seq, id, user, text, time FROM messages WHERE room = ? ORDER BY seq DESC LIMIT ?')
const nextSeq = db.prepare<[string], { seq: number }>('UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq AS seq')
const insertMessage = db.prepare<[string, number, string, string, string, string]>(
  'INSERT INTO messages (room, seq, id, user, text, time) VALUES (?, ?, ?, ?, ?, ?)')
const trim = db.prepare<[string, number]>('DELETE FROM messages WHERE room = ? AND seq <= ?')

const append = db.transaction((room: string, user: string, text: string): MessageRow | undefined => {
  const row = nextSeq.get(room)
  if (row === undefined) return undefined
  const message = { room, seq: row.seq, id: randomUUID(), user, text, time: new Date().toISOString() }
  insertMessage.run(message.room, message.seq, message.id, message.user, message.text, message.time)
  trim.run(room, message.seq - historyLimit)
  return message
})

const id = { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' } as const
const message = {
  type: 'object',
  properties: { room: { type: 'string' }, seq: { type: 'integer' }, id: { type: 'string' }, user: { type: 'string' }, text: { type: 'string' }, time: { type: 'string' } }
} as const
const params = { type: 'object', properties: { id }, required: ['id'] } as const

const app = Fastify({ logger: false })

app.post<{ Body: { id: string } }>('/rooms', {
  schema: { body: { type: 'object', properties: { id }, required: ['id'] } }
}, async (request, reply) => {
  insertRoom.run(request.body.id, request.body.id, new Date().toISOString())
  return reply.code(201).send({ id: request.body.id })
})

app.get<{ Params: { id: string }, Querystring: { limit: number } }>('/rooms/:id/messages', {
  schema: {
    params,
    querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 } } },
    response: { 200: { type: 'object', properties: { messages: { type: 'array', items: message } } } }
  }
}, async (request) => {
  return { messages: newest.all(request.params.id, request.query.limit).reverse() }
})

app.post<{ Params: { id: string }, Body: { text: string, user?: string } }>('/rooms/:id/messages', {
  schema: {
    params,
    body: { type: 'object', properties: { text: { type: 'string', minLength: 1, maxLength: 4000 }, user: id }, required: ['text'] },
    response: { 201: message }
  }
}, async (request, reply) => {
  const stored = append(request.params.id, request.body.user ?? 'system', request.body.text)
  if (stored === undefined) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'no such room' })
  return reply.code(201).send(stored)
})

process.on('SIGTERM', () => {
  void app.close().then(() => {
    db.close()
    process.exit(0)
  })
})

await app.listen({ port, host })
process.stdout.write(`bare-fastify listening on ${host}:${port}\n`)
