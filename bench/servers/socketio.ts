import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { Server } from 'socket.io'

/**
 * Socket.IO 4.8 doing the same chat work: rooms with socket.join, the members online in the
 * join's answer and presence to the others (socket.to(room).emit) on a user's first join and
 * last leave, broadcasts with io.to(room).emit (Socket.IO encodes a broadcast once), an ack
 * callback to the sender and per-room seq in memory. WebSocket transport only, no compression.
 */

type Ack = (reply: unknown) => void

const port = Number(process.env.PORT ?? 3200)
const host = process.env.HOST ?? '127.0.0.1'
const seqs = new Map<string, number>()
const users = new Map<string, Map<string, number>>()

const httpServer = createServer()
const io = new Server(httpServer, {
  transports: ['websocket'],
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  maxHttpBufferSize: 16384
})

io.of('/').adapter.on('delete-room', (room: string) => {
  seqs.delete(room)
  users.delete(room)
})

io.on('connection', (socket) => {
  const raw = socket.handshake.query.user
  const user = typeof raw === 'string' ? raw : randomUUID()

  socket.on('join', (room: unknown, ack: unknown) => {
    if (typeof room !== 'string' || typeof ack !== 'function') return
    let online = users.get(room)
    if (online === undefined) users.set(room, online = new Map())
    const first = !socket.rooms.has(room) && !online.has(user)
    if (!socket.rooms.has(room)) {
      online.set(user, (online.get(user) ?? 0) + 1)
      void socket.join(room)
    }
    ;(ack as Ack)({ room, seq: seqs.get(room) ?? 0, members: [...online.keys()] })
    if (first) socket.to(room).emit('presence', { room, event: 'join', user, time: new Date().toISOString() })
  })

  socket.on('disconnecting', () => {
    for (const room of socket.rooms) {
      const online = users.get(room)
      if (online === undefined) continue
      const count = (online.get(user) ?? 1) - 1
      if (count > 0) {
        online.set(user, count)
        continue
      }
      online.delete(user)
      socket.to(room).emit('presence', { room, event: 'leave', user, time: new Date().toISOString() })
    }
  })

  socket.on('message', (frame: { room?: unknown, text?: unknown } | undefined, ack: unknown) => {
    if (typeof ack !== 'function') return
    const room = frame?.room
    const text = frame?.text
    if (typeof room !== 'string' || typeof text !== 'string' || !socket.rooms.has(room)) {
      (ack as Ack)({ error: 'not_member' })
      return
    }
    const seq = (seqs.get(room) ?? 0) + 1
    seqs.set(room, seq)
    const id = randomUUID()
    io.to(room).emit('message', { room, seq, id, user, text, time: new Date().toISOString() })
    ;(ack as Ack)({ room, seq, id })
  })
})

process.on('SIGTERM', () => {
  void io.close()
  process.exit(0)
})

httpServer.listen(port, host, () => {
  process.stdout.write(`socketio listening on ${host}:${port}\n`)
})
