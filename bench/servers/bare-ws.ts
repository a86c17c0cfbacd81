import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { Socket } from 'node:net'
import * as wsModule from 'ws'
import { WebSocket, WebSocketServer } from 'ws'
import type BetterSqlite3 from 'better-sqlite3'
import type { Redis as RedisClient } from 'ioredis'
import type { Pool as PgPool } from 'pg'

/**
 * The reference hub: the smallest `ws` server that does the protocol work the benchmark
 * exercises (welcome; join → joined with the members online, presence to the others on a
 * user's first join and last leave; message → broadcast to the room + ack; for the chat
 * scenario typing sets with a 5 s expiry, forward-only read seqs announced at most once a
 * second per user, edits broadcast as `updated`, reactions kept on the message and each one
 * broadcast as `updated`, replies stored with `replyTo` and their root's thread broadcast as
 * `updated`), all in memory. It coalesces nothing: each change goes out as it is made. Each broadcast is
 * serialized and framed once and the same bytes are written to every member's socket: the
 * ceiling of any Node + ws chat stack doing this job.
 *
 * With CHAT_DB set it is the durable reference instead: before a message is broadcast and
 * acknowledged, one SQLite transaction (WAL, synchronous NORMAL) stores it and moves the
 * sender's read seq to it, the durable work the contract asks of every message done the
 * plainest way. Its WAL is checkpointed on a thread by the service's own checkpointer (SQLite's
 * automatic checkpoints, run inside a commit on the event loop, put p99 at 2.7-3.3× the hub's),
 * and frames that arrive while the checkpointer holds writes wait for it in arrival order. The
 * gap between it and the in-memory hub is the price of durability alone.
 *
 * With DATABASE_URL set it is the durable reference on PostgreSQL: per message one transaction
 * with node-postgres, the plainest way (BEGIN; the room's next seq taken with UPDATE … RETURNING;
 * the message inserted; the sender's read seq upserted; COMMIT), then the broadcast and the ack.
 * A room's messages go through its transactions one after the other (the next waits for the
 * previous commit, so they are broadcast in seq order); different rooms' transactions run at once
 * on a pool of 10 connections, as many as the service's pool. PostgreSQL runs as installed
 * (fsync and synchronous_commit on): a message is acknowledged once its commit is on disk.
 *
 * With REDIS_URL set, several of these hubs share rooms through Redis the plainest way: one
 * script per message (the seq, the message kept in a sorted set, the frame published on the
 * room's channel), a subscription per room with members here, and every frame arriving on a
 * channel written as it came to this hub's members of the room. It keeps no order between a
 * sender's message and its ack, and repairs no gap: the floor of a hub spread over nodes.
 */

interface FrameOptions { fin: boolean, rsv1: boolean, opcode: number, mask: boolean, readOnly: boolean }
const Sender = (wsModule as unknown as { Sender: { frame: (data: Buffer, options: FrameOptions) => Buffer[] } }).Sender
const FRAME_OPTIONS: FrameOptions = { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true }

interface Member { ws: WebSocket, user: string }
interface StoredMessage {
  room: string
  seq: number
  id: string
  user: string
  text: string
  time: string
  version?: number
  editedAt?: string
  replyTo?: number
  thread?: { replies: number, lastSeq: number, lastTime: string }
  reactions?: { emoji: string, count: number, users: string[] }[]
}
interface Room {
  name: string
  seq: number
  members: Set<Member>
  users: Map<string, number>
  /** The newest messages, for edits. */
  messages: Map<number, StoredMessage>
  /** Typing users and when each stops. */
  typing: Map<string, number>
  typingTimer?: NodeJS.Timeout
  reads: Map<string, number>
  /** Read seqs moved since the last announcement. */
  readMoves: Map<string, number>
  readTimer?: NodeJS.Timeout
}

const TYPING_MS = 5000
const READ_WINDOW_MS = 1000
const KEPT = 1000

const rooms = new Map<string, Room>()
const port = Number(process.env.PORT ?? 3100)
const host = process.env.HOST ?? '127.0.0.1'
const idPattern = /^[A-Za-z0-9_.-]{1,64}$/

/** Frames that arrived while the checkpointer held writes, in arrival order. */
let heldFrames: (() => void)[] | undefined

/** Stores a message and its sender's read seq in one transaction; absent without CHAT_DB. */
const storeMessage = process.env.CHAT_DB === undefined ? undefined : await openStore(process.env.CHAT_DB)

// The drivers load only when used, so the in-memory hub's process holds nothing of them.
async function openStore (path: string): Promise<(message: StoredMessage) => void> {
  const Database = (await import('better-sqlite3')).default as typeof BetterSqlite3
  const { startCheckpointer } = await import('../../src/engine/local/sqlite-checkpointer.ts')
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(`CREATE TABLE IF NOT EXISTS messages (room TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
      user TEXT NOT NULL, text TEXT NOT NULL, time TEXT NOT NULL, PRIMARY KEY (room, seq)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS read_state (room TEXT NOT NULL, user TEXT NOT NULL, seq INTEGER NOT NULL,
      PRIMARY KEY (room, user)) WITHOUT ROWID;`)
  startCheckpointer(db, path, {
    hold: () => { heldFrames = [] },
    release: () => {
      const frames = heldFrames ?? []
      heldFrames = undefined
      for (const frame of frames) frame()
    }
  })
  const insert = db.prepare('INSERT INTO messages (room, seq, id, user, text, time) VALUES (?, ?, ?, ?, ?, ?)')
  const read = db.prepare(`INSERT INTO read_state (room, user, seq) VALUES (?, ?, ?)
    ON CONFLICT (room, user) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > read_state.seq`)
  return db.transaction((message: StoredMessage) => {
    insert.run(message.room, message.seq, message.id, message.user, message.text, message.time)
    read.run(message.room, message.user, message.seq)
  })
}

/** Stores a message in PostgreSQL in one transaction and resolves with its seq; absent without DATABASE_URL. */
const pgStore = process.env.DATABASE_URL === undefined ? undefined : await openPgStore(process.env.DATABASE_URL)

async function openPgStore (url: string) {
  const pg = (await import('pg')).default as unknown as { Pool: new (options: object) => PgPool }
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  pool.on('error', () => {})
  await pool.query(`CREATE TABLE IF NOT EXISTS rooms (id text PRIMARY KEY, seq bigint NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS messages (room text NOT NULL, seq bigint NOT NULL, id text NOT NULL,
      user_id text NOT NULL, text text NOT NULL, time text NOT NULL, PRIMARY KEY (room, seq));
    CREATE TABLE IF NOT EXISTS read_state (room text NOT NULL, user_id text NOT NULL, seq bigint NOT NULL,
      PRIMARY KEY (room, user_id));`)
  /** Each room's last transaction: the next one starts when it is done. */
  const tails = new Map<string, Promise<unknown>>()
  /** Each room's row, created on its first join. */
  const opened = new Map<string, Promise<unknown>>()
  return {
    /** Creates the room's row when new; resolves with its seq. */
    async open (room: string): Promise<number> {
      let creating = opened.get(room)
      if (creating === undefined) {
        opened.set(room, creating = pool.query('INSERT INTO rooms (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [room]))
        creating.catch(() => opened.delete(room))
      }
      await creating
      const { rows } = await pool.query<{ seq: string }>('SELECT seq FROM rooms WHERE id = $1', [room])
      return Number(rows[0]!.seq)
    },
    /** One transaction: the next seq, the message, the sender's read seq. Resolves with the seq. */
    store (message: Omit<StoredMessage, 'seq'>): Promise<number> {
      const run = async () => {
        const client = await pool.connect()
        try {
          await client.query('BEGIN')
          const { rows } = await client.query<{ seq: string }>('UPDATE rooms SET seq = seq + 1 WHERE id = $1 RETURNING seq', [message.room])
          const seq = Number(rows[0]!.seq)
          await client.query('INSERT INTO messages (room, seq, id, user_id, text, time) VALUES ($1, $2, $3, $4, $5, $6)',
            [message.room, seq, message.id, message.user, message.text, message.time])
          await client.query(`INSERT INTO read_state (room, user_id, seq) VALUES ($1, $2, $3)
            ON CONFLICT (room, user_id) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > read_state.seq`, [message.room, message.user, seq])
          await client.query('COMMIT')
          return seq
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {})
          throw err
        } finally {
          client.release()
        }
      }
      const done = (tails.get(message.room) ?? opened.get(message.room) ?? Promise.resolve()).then(run, run)
      const tail = done.catch(() => {})
      tails.set(message.room, tail)
      void tail.then(() => { if (tails.get(message.room) === tail) tails.delete(message.room) })
      return done
    }
  }
}

/** Shares rooms through Redis; absent without REDIS_URL. */
const shared = process.env.REDIS_URL === undefined ? undefined : await openShared(process.env.REDIS_URL)

async function openShared (url: string) {
  const { Redis } = await import('ioredis') as { Redis: new (url: string, options?: object) => RedisClient }
  const commands = new Redis(url)
  const subscriber = new Redis(url)
  commands.defineCommand('bareAppend', {
    numberOfKeys: 3,
    lua: `local seq = redis.call('INCR', KEYS[1])
local frame = ARGV[1] .. seq .. ARGV[2]
redis.call('ZADD', KEYS[2], seq, frame)
if seq > ${KEPT} then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', seq - ${KEPT}) end
redis.call('PUBLISH', KEYS[3], frame)
return seq`
  })
  const append = (commands as unknown as { bareAppend: (...args: string[]) => Promise<number> }).bareAppend.bind(commands)
  /** Followed rooms by channel, each with its subscription's confirmation. */
  const byChannel = new Map<string, { room: Room, subscribed: Promise<unknown> }>()
  subscriber.on('message', (channel: string, text: string) => {
    const followed = byChannel.get(channel)
    if (followed !== undefined) writeFrame(followed.room, text)
  })
  return {
    /** Resolves once the room's channel is subscribed, so a member is answered only then. */
    follow (room: Room): Promise<unknown> {
      const channel = `bare:${room.name}`
      let followed = byChannel.get(channel)
      if (followed === undefined) byChannel.set(channel, followed = { room, subscribed: subscriber.subscribe(channel) })
      return followed.subscribed
    },
    unfollow (room: Room): void {
      const channel = `bare:${room.name}`
      byChannel.delete(channel)
      void subscriber.unsubscribe(channel)
    },
    /** Stores and publishes the message frame; resolves with its seq. */
    send (name: string, id: string, user: string, text: string, time: string): Promise<number> {
      const head = `{"type":"message","room":${JSON.stringify(name)},"seq":`
      const tail = `,"id":"${id}","user":${JSON.stringify(user)},"text":${JSON.stringify(text)},"time":"${time}"}`
      return append(`bare:${name}:seq`, `bare:${name}:messages`, `bare:${name}`, head, tail)
    }
  }
}

const server = createServer((_request, response) => {
  response.writeHead(426).end()
})
const wss = new WebSocketServer({
  server, path: '/ws', perMessageDeflate: false, clientTracking: false, maxPayload: 16384
})

function broadcast (room: Room, frame: object, skipUser?: string): void {
  writeFrame(room, JSON.stringify(frame), skipUser)
}

function writeFrame (room: Room, text: string, skipUser?: string): void {
  const [header, payload] = Sender.frame(Buffer.from(text), FRAME_OPTIONS) as [Buffer, Buffer]
  const bytes = Buffer.concat([header, payload])
  for (const member of room.members) {
    if (member.user === skipUser) continue
    if (member.ws.readyState === WebSocket.OPEN) (member.ws as unknown as { _socket: Socket })._socket.write(bytes)
  }
}

function presence (room: Room, name: string, event: 'join' | 'leave', user: string): void {
  broadcast(room, { type: 'presence', room: name, event, user, time: new Date().toISOString() }, user)
}

function typingChanged (room: Room): void {
  broadcast(room, { type: 'typing', room: room.name, users: [...room.typing.keys()].sort() })
}

function expireTyping (room: Room): void {
  room.typingTimer = undefined
  const now = Date.now()
  let changed = false
  for (const [user, until] of room.typing) {
    if (until <= now) {
      room.typing.delete(user)
      changed = true
    }
  }
  if (changed) typingChanged(room)
  if (room.typing.size > 0) room.typingTimer = setTimeout(expireTyping, Math.min(...room.typing.values()) - now + 1, room)
}

function setTyping (room: Room, user: string, active: boolean): void {
  const was = room.typing.has(user)
  if (active) room.typing.set(user, Date.now() + TYPING_MS)
  else room.typing.delete(user)
  if (was !== active) typingChanged(room)
  if (active && room.typingTimer === undefined) room.typingTimer = setTimeout(expireTyping, TYPING_MS + 1, room)
}

function announceReads (room: Room): void {
  room.readTimer = undefined
  for (const [user, seq] of room.readMoves) broadcast(room, { type: 'read', room: room.name, user, seq })
  room.readMoves.clear()
}

function onFrame (member: Member, joined: Map<string, Room>, data: Buffer): void {
  let frame: { type?: unknown, room?: unknown, text?: unknown, ref?: unknown, seq?: unknown, active?: unknown, replyTo?: unknown, emoji?: unknown }
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
    if (room === undefined) {
      rooms.set(name, room = {
        name, seq: 0, members: new Set(), users: new Map(), messages: new Map(), typing: new Map(), reads: new Map(), readMoves: new Map()
      })
    }
    const first = !joined.has(name) && !room.users.has(member.user)
    if (!joined.has(name)) {
      room.members.add(member)
      room.users.set(member.user, (room.users.get(member.user) ?? 0) + 1)
      joined.set(name, room)
    }
    const answer = () => {
      member.ws.send(JSON.stringify({ type: 'joined', room: name, seq: room.seq, members: [...room.users.keys()], ref }))
      if (first) presence(room, name, 'join', member.user)
    }
    if (pgStore !== undefined) {
      // The room's row (and seq) in PostgreSQL first.
      const opening = room
      pgStore.open(name).then((seq) => {
        opening.seq = Math.max(opening.seq, seq)
        answer()
      }, () => member.ws.close(1011))
    } else if (shared === undefined) answer()
    else shared.follow(room).then(answer, () => member.ws.close(1011))
  } else if (frame.type === 'message' && typeof frame.text === 'string') {
    const room = joined.get(name)
    if (room === undefined) {
      member.ws.send(JSON.stringify({ type: 'error', code: 'not_member', message: `join room ${name} first`, ref }))
      return
    }
    const target = typeof frame.replyTo === 'number' ? room.messages.get(frame.replyTo) : undefined
    if (typeof frame.replyTo === 'number' && target === undefined) {
      member.ws.send(JSON.stringify({ type: 'error', code: 'not_found', message: 'no such message', ref }))
      return
    }
    if (shared !== undefined) {
      const id = randomUUID()
      shared.send(name, id, member.user, frame.text, new Date().toISOString()).then(
        (seq) => member.ws.send(JSON.stringify({ type: 'ack', ref, room: name, seq, id })),
        () => member.ws.send(JSON.stringify({ type: 'error', code: 'internal', message: 'not stored', ref })))
      return
    }
    if (pgStore !== undefined) {
      const id = randomUUID()
      const stored = { room: name, id, user: member.user, text: frame.text, time: new Date().toISOString() }
      pgStore.store(stored).then((seq) => {
        room.seq = seq
        const message: StoredMessage = { ...stored, seq }
        const root = target === undefined ? undefined : room.messages.get(target.replyTo ?? target.seq)
        if (root !== undefined) message.replyTo = root.seq
        room.messages.set(seq, message)
        room.messages.delete(seq - KEPT)
        if (room.typing.has(member.user)) setTyping(room, member.user, false)
        broadcast(room, { type: 'message', ...message })
        member.ws.send(JSON.stringify({ type: 'ack', ref, room: name, seq, id }))
        if (root !== undefined) {
          root.thread = { replies: (root.thread?.replies ?? 0) + 1, lastSeq: seq, lastTime: message.time }
          broadcast(room, { type: 'updated', room: name, message: root })
        }
      }, () => member.ws.send(JSON.stringify({ type: 'error', code: 'internal', message: 'not stored', ref })))
      return
    }
    const seq = ++room.seq
    const id = randomUUID()
    const message: StoredMessage = { room: name, seq, id, user: member.user, text: frame.text, time: new Date().toISOString() }
    const root = target === undefined ? undefined : room.messages.get(target.replyTo ?? target.seq)
    if (root !== undefined) message.replyTo = root.seq
    room.messages.set(seq, message)
    room.messages.delete(seq - KEPT)
    storeMessage?.(message)
    if (room.typing.has(member.user)) setTyping(room, member.user, false)
    broadcast(room, { type: 'message', ...message })
    member.ws.send(JSON.stringify({ type: 'ack', ref, room: name, seq, id }))
    if (root !== undefined) {
      root.thread = { replies: (root.thread?.replies ?? 0) + 1, lastSeq: seq, lastTime: message.time }
      broadcast(room, { type: 'updated', room: name, message: root })
    }
  } else if (frame.type === 'typing') {
    const room = joined.get(name)
    if (room !== undefined) setTyping(room, member.user, frame.active !== false)
  } else if (frame.type === 'read' && typeof frame.seq === 'number') {
    const room = joined.get(name)
    if (room === undefined || frame.seq > room.seq || frame.seq <= (room.reads.get(member.user) ?? -1)) return
    room.reads.set(member.user, frame.seq)
    room.readMoves.set(member.user, frame.seq)
    room.readTimer ??= setTimeout(announceReads, READ_WINDOW_MS, room)
  } else if (frame.type === 'edit' && typeof frame.seq === 'number' && typeof frame.text === 'string') {
    const room = joined.get(name)
    const message = room?.messages.get(frame.seq)
    if (room === undefined || message === undefined || message.user !== member.user) {
      member.ws.send(JSON.stringify({ type: 'error', code: 'not_found', message: 'no such message of yours', ref }))
      return
    }
    message.text = frame.text
    message.version = (message.version ?? 1) + 1
    message.editedAt = new Date().toISOString()
    broadcast(room, { type: 'updated', room: name, message })
    member.ws.send(JSON.stringify({ type: 'ack', ref, room: name, seq: message.seq, id: message.id }))
  } else if (frame.type === 'react' && typeof frame.seq === 'number' && typeof frame.emoji === 'string') {
    const room = joined.get(name)
    const message = room?.messages.get(frame.seq)
    if (room === undefined || message === undefined) {
      member.ws.send(JSON.stringify({ type: 'error', code: 'not_found', message: 'no such message', ref }))
      return
    }
    const reactions = message.reactions ??= []
    let entry = reactions.find((reaction) => reaction.emoji === frame.emoji)
    if (entry === undefined) reactions.push(entry = { emoji: frame.emoji, count: 0, users: [] })
    if (!entry.users.includes(member.user)) {
      entry.count++
      entry.users.push(member.user)
      broadcast(room, { type: 'updated', room: name, message })
    }
    member.ws.send(JSON.stringify({ type: 'ack', ref, room: name, seq: message.seq, id: message.id }))
  } else {
    member.ws.send(JSON.stringify({ type: 'error', code: 'bad_request', message: 'unsupported frame', ref }))
  }
}

wss.on('connection', (ws, request) => {
  const user = new URL(request.url ?? '/', 'http://localhost').searchParams.get('user') ?? randomUUID()
  const member: Member = { ws, user: idPattern.test(user) ? user : randomUUID() }
  const joined = new Map<string, Room>()
  ws.on('message', (data: Buffer) => {
    if (heldFrames === undefined) onFrame(member, joined, data)
    else heldFrames.push(() => onFrame(member, joined, data))
  })
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
        if (room.typing.has(member.user)) setTyping(room, member.user, false)
      }
      if (room.members.size === 0) {
        clearTimeout(room.typingTimer)
        clearTimeout(room.readTimer)
        rooms.delete(name)
        shared?.unfollow(room)
      }
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
