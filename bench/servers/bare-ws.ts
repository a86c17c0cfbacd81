import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { Socket } from 'node:net'
import * as wsModule from 'ws'
import { WebSocket, WebSocketServer } from 'ws'

/**
 * The reference hub: the smallest `ws` server that does the protocol work the benchmark
 * exercises (welcome; join → joined with the members online, presence to the others on a
 * user's first join and last leave; message → broadcast to the room + ack), with per-room
 * seq in memory. Each broadcast is serialized and framed once and the same bytes are
 * written to every member's socket: the ceiling of any Node + ws chat stack doing this job.
 */

interface FrameOptions { fin: boolean, rsv1: boolean, opcode: number, mask: boolean, readOnly: boolean }
const Sender = (wsModule as unknown as { Sender: { frame: (data: Buffer, options: FrameOptions) => Buffer[] } }).Sender
const FRAME_OPTIONS: FrameOptions = { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true }

interface Member { ws: WebSocket, user: string }
interface Room { seq: number, members: Set<Member>, users: Map<string, number> }

const rooms = new Map<string, Room>()
const port = Number(process.env.PORT ?? 3100)
const host = process.env.HOST ?? '127.0.0.1'
const idPattern = /^[A-Za-z0-9_.-]{1,64}$/

const server = createServer((_request, response) => {
  response.writeHead(426).end()
})
const wss = new WebSocketServer({
  server, path: '/ws', perMessageDeflate: false, clientTracking: false, maxPayload: 16384
})

function broadcast (room: Room, frame: object, skipUser?: string): void {
  const [header, payload] = Sender.frame(Buffer.from(JSON.stringify(frame)), FRAME_OPTIONS) as [Buffer, Buffer]
  const bytes = Buffer.concat([header, payload])
  for (const member of room.members) {
    if (member.user === skipUser) continue
    if (member.ws.readyState === WebSocket.OPEN) (member.ws as unknown as { _socket: Socket })._socket.write(bytes)
  }
}

function presence (room: Room, name: string, event: 'join' | 'leave', user: string): void {
  broadcast(room, { type: 'presence', room: name, event, user, time: new Date().toISOString() }, user)
}

function onFrame (member: Member, joined: Map<string, Room>, data: Buffer): void {
  let frame: { type?: unknown, room?: unknown, text?: unknown, ref?: unknown }
  try {
    frame = JSON.parse(data.toString()) as typeof frame
  } catch {
    member.ws.send(JSON.stringify({ type: 'error', code: 'bad_request', message: 'not JSON' }))
    return
  }
  const ref = typeof frame.ref === 'string' ? frame.ref : undefined
  const name = typeof frame.room === 'string' ? frame.room : ''
  if (frame.type === 'join') {
    let room = rooms.get(name)
    if (room === undefined) rooms.set(name, room = { seq: 0, members: new Set(), users: new Map() })
    const first = !joined.has(name) && !room.users.has(member.user)
    if (!joined.has(name)) {
      room.members.add(member)
      room.users.set(member.user, (room.users.get(member.user) ?? 0) + 1)
      joined.set(name, room)
    }
    member.ws.send(JSON.stringify({ type: 'joined', room: name, seq: room.seq, members: [...room.users.keys()], ref }))
    if (first) presence(room, name, 'join', member.user)
  } else if (frame.type === 'message' && typeof frame.text === 'string') {
    const room = joined.get(name)
    if (room === undefined) {
      member.ws.send(JSON.stringify({ type: 'error', code: 'not_member', message: `join room ${name} first`, ref }))
      return
    }
    const seq = ++room.seq
    const id = randomUUID()
    broadcast(room, { type: 'message', room: name, seq, id, user: member.user, text: frame.text, time: new Date().toISOString() })
    member.ws.send(JSON.stringify({ type: 'ack', ref, room: name, seq, id }))
  } else {
    member.ws.send(JSON.stringify({ type: 'error', code: 'bad_request', message: 'unsupported frame', ref }))
  }
}

wss.on('connection', (ws, request) => {
  const user = new URL(request.url ?? '/', 'http://localhost').searchParams.get('user') ?? randomUUID()
  const member: Member = { ws, user: idPattern.test(user) ? user : randomUUID() }
  const joined = new Map<string, Room>()
  ws.on('message', (data: Buffer) => onFrame(member, joined, data))
  ws.on('error', () => {})
  ws.on('close', () => {
    for (const [name, room] of joined) {
      room.members.delete(member)
      const count = (room.users.get(member.user) ?? 1) - 1
      if (count > 0) {
        room.users.set(member.user, count)
      } else {
        room.users.delete(member.user)
        presence(room, name, 'leave', member.user)
      }
      if (room.members.size === 0) rooms.delete(name)
    }
  })
  ws.send(JSON.stringify({ type: 'welcome', connectionId: randomUUID(), user: member.user, heartbeatMs: 30000 }))
})

process.on('SIGTERM', () => {
  server.close()
  process.exit(0)
})

server.listen(port, host, () => {
  process.stdout.write(`bare-ws listening on ${host}:${port}\n`)
})
