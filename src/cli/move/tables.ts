import type { Redis } from 'ioredis'
import { fieldsJson } from '../../engine/postgres/message-rows.ts'
import type { RedisClient } from '../../engine/redis/connection.ts'
import { PREFIX, roomKey, roomKeys } from '../../engine/redis/keys.ts'
import { CLIENT_ID_TTL_MS } from '../../engine/types.ts'
import type { Message } from '../../schemas/common.ts'

/** A row of a target table: its values in the order of the table's `columns`. */
export type Row = unknown[]

/** A column of a target table and the PostgreSQL type its values are sent as (an array of it per statement). */
export interface Column {
  name: string
  type: 'text' | 'bigint' | 'integer' | 'boolean' | 'double precision' | 'jsonb'
}

/** One room of a Redis source: its id, its room hash (name, private, lastSeq…) and the client. */
export interface RedisRoom {
  id: string
  hash: Record<string, string>
  redis: RedisClient
}

/** What a Redis reader of rows spanning rooms gets: the client, the primaries to SCAN, and the rooms copied. */
export interface RedisScope {
  redis: RedisClient
  primaries: Redis[]
  rooms: ReadonlySet<string>
}

/**
 * How one PostgreSQL table is filled from each source engine: the table copies of the core and
 * of every feature, in the order they are written (rooms first: every other table refers to them).
 * The feature tables' layouts are those of each feature's sqlite.ts, redis.ts and postgres.ts;
 * a feature that adds a table adds its copy here.
 */
export interface TableCopy {
  /** The table on PostgreSQL (the core's migrations.ts, or the feature's postgres.ts). */
  table: string
  /** Whose table it is: 'core' or the feature's name (src/features/<name>/). */
  owner: string
  columns: Column[]
  /** SQLite: the query of the rows, columns in order; `sqliteArgs` are its parameters. */
  sqlite?: string
  sqliteArgs?: () => unknown[]
  /** Redis: the rows of one room, read from its keys. */
  redisRoom?: (room: RedisRoom) => Promise<Row[]>
  /** Redis: rows kept across rooms, read once every room is copied (only rows of copied rooms). */
  redisGlobal?: (scope: RedisScope) => AsyncIterable<Row[]>
  /** A serial column whose sequence must go on after the copied values (and the source's own high-water mark). */
  serial?: string
  /** How a row already on the target is met (bookkeeping a fresh target may hold); absent: an error. */
  onConflict?: string
}

const text = (name: string): Column => ({ name, type: 'text' })
const bigint = (name: string): Column => ({ name, type: 'bigint' })

/** A clientId is remembered this long after its message; older ones are not copied (the target would ignore them). */
const sendCutoff = () => new Date(Date.now() - CLIENT_ID_TTL_MS).toISOString()

/** Pages of a sorted set read by score (messages: score = seq). */
const PAGE = 1000

async function redisMessages (room: RedisRoom): Promise<Row[]> {
  const keys = roomKeys(room.id)
  const changes = await room.redis.zrange(keys.changes, 0, -1, 'WITHSCORES')
  /** seq → the room's latest seq when the message last changed. */
  const changed = new Map<number, number>()
  for (let i = 0; i < changes.length; i += 2) changed.set(Number(changes[i]), Number(changes[i + 1]))
  const rows: Row[] = []
  let after = 0
  for (;;) {
    const members = await room.redis.zrangebyscore(keys.messages, `(${after}`, '+inf', 'LIMIT', 0, PAGE)
    for (const member of members) {
      const message = JSON.parse(member) as Message
      rows.push([room.id, message.seq, message.id, message.user, message.text, message.time, message.clientId ?? null,
        fieldsJson(message), changed.get(message.seq) ?? null])
      after = message.seq
    }
    if (members.length < PAGE) return rows
  }
}

/** A feature's key of the room (`chat:{pN}:<name>:<room>`), as its redis.ts names it through RedisStorage.roomKey. */
const featureKey = (name: string, room: RedisRoom) => roomKey(name, room.id)

const byUser = (a: Row, b: Row) => (String(a[1]) < String(b[1]) ? -1 : String(a[1]) > String(b[1]) ? 1 : 0)

/** `chat:{pN}:sent:<room>:<user>:<clientId>`: ids never hold ':' (clientIds may), so the key splits at its first colons. */
const SENT_KEY = new RegExp(`^${PREFIX}\\{[^}]+\\}:sent:([^:]+):([^:]+):(.+)$`)

/** Every live clientId of the copied rooms, found by SCAN on each primary (they are keys of their own, expiring). */
async function * redisSends (scope: RedisScope): AsyncIterable<Row[]> {
  const cutoff = sendCutoff()
  for (const primary of scope.primaries) {
    let cursor = '0'
    do {
      const [next, keys] = await primary.scan(cursor, 'MATCH', `${PREFIX}{*}:sent:*`, 'COUNT', PAGE)
      cursor = next
      const found = keys.flatMap((key) => {
        const match = SENT_KEY.exec(key)
        if (match === null) return []
        const [, room, user, clientId] = match as unknown as [string, string, string, string]
        return scope.rooms.has(room) && roomKeys(room).sent(user, clientId) === key ? [{ key, room, user, clientId }] : []
      })
      // Read through the client, which routes each key to its slot's primary (the one scanned, unless a slot moved meanwhile).
      const values = await Promise.all(found.map((entry) => scope.redis.get(entry.key)))
      const rows: Row[] = []
      found.forEach((entry, i) => {
        const [seq, id, time] = (values[i] ?? '').split(' ')
        if (seq === undefined || id === undefined || time === undefined || time < cutoff) return
        rows.push([entry.room, entry.user, entry.clientId, Number(seq), id, time])
      })
      if (rows.length > 0) yield rows
    } while (cursor !== '0')
  }
}

/** The open reports, oldest first as the queue (`chat:reports`, by time) lists them, each from its room's hash. */
async function * redisReports (scope: RedisScope): AsyncIterable<Row[]> {
  const ids = await scope.redis.zrange(`${PREFIX}reports`, 0, -1)
  for (let start = 0; start < ids.length; start += PAGE) {
    const page = ids.slice(start, start + PAGE)
    const rooms = await scope.redis.hmget(`${PREFIX}report-rooms`, ...page)
    const reports = await Promise.all(page.map((id, i) => {
      const room = rooms[i]
      return room === null || room === undefined || !scope.rooms.has(room) ? null : scope.redis.hget(roomKey('reports', room), id)
    }))
    const rows: Row[] = []
    for (const json of reports) {
      if (json === null) continue
      const report = JSON.parse(json) as { id: string, room: string, seq: number, reporter: string, reason: string | null, time: string, message: unknown }
      rows.push([report.id, report.room, report.seq, JSON.stringify(report.message), report.reporter, report.reason ?? null, report.time])
    }
    if (rows.length > 0) yield rows
  }
}

/** Push (push/redis.ts): every key under the `{push}` tag, one slot. */
const PUSH = `${PREFIX}{push}:`

async function * redisPushSubscriptions (scope: RedisScope): AsyncIterable<Row[]> {
  const owners = await scope.redis.hgetall(`${PUSH}owners`)
  const rows: Row[] = []
  for (const [endpoint, user] of Object.entries(owners).sort()) {
    const keys = await scope.redis.hget(`${PUSH}subs:${user}`, endpoint)
    if (keys === null) continue
    const { p256dh, auth } = JSON.parse(keys) as { p256dh: string, auth: string }
    rows.push([endpoint, user, p256dh, auth, Date.now()])
  }
  if (rows.length > 0) yield rows
}

/** The windows a notification waits in (the others only say when a user was last notified, and lapse). */
async function * redisPushWindows (scope: RedisScope): AsyncIterable<Row[]> {
  const rows: Row[] = []
  for (const member of await scope.redis.zrange(`${PUSH}ends`, 0, -1)) {
    const [room, user] = member.split('\u0000') as [string, string]
    const json = await scope.redis.get(`${PUSH}w:${room} ${user}`)
    if (json === null) continue
    const window = JSON.parse(json) as { e: number, s?: number, p?: string }
    rows.push([room, user, window.e, window.s ?? null, window.p ?? null])
  }
  if (rows.length > 0) yield rows
}

async function * redisPushQueue (scope: RedisScope): AsyncIterable<Row[]> {
  const [deliveries, due] = await Promise.all([scope.redis.hgetall(`${PUSH}deliveries`), scope.redis.zrange(`${PUSH}queue`, 0, -1, 'WITHSCORES')])
  const dueOf = new Map<string, number>()
  for (let i = 0; i < due.length; i += 2) dueOf.set(due[i]!, Number(due[i + 1]))
  const rows: Row[] = []
  for (const [id, json] of Object.entries(deliveries)) {
    const d = JSON.parse(json) as { u: string, r: string, s: number, p: string, e: string, a: number, c: number }
    rows.push([Number(id), d.e, d.u, d.r, d.s, d.p, dueOf.get(id) ?? Date.now(), d.a, d.c])
  }
  if (rows.length > 0) yield rows.sort((a, b) => Number(a[0]) - Number(b[0]))
}

export const TABLES: TableCopy[] = [
  {
    table: 'rooms',
    owner: 'core',
    columns: [text('id'), text('name'), { name: 'private', type: 'boolean' }, { name: 'history_limit', type: 'integer' },
      { name: 'slow_mode_ms', type: 'integer' }, { name: 'retention_days', type: 'double precision' }, text('created_at'), bigint('last_seq')],
    // The latest seq: the newest message's, or the floor retention kept once it removed every message (sqlite-store.ts).
    sqlite: `SELECT id, name, private, history_limit, slow_mode_ms, retention_days, created_at,
      MAX(COALESCE((SELECT MAX(seq) FROM messages m WHERE m.room = rooms.id), 0), seq_floor) AS last_seq FROM rooms ORDER BY id`,
    // The room hash (keys.ts): historyLimit '' is the default; Redis alone has no retention.
    redisRoom: async ({ id, hash }) => [[id, hash.name ?? id, hash.private === '1',
      hash.historyLimit === undefined || hash.historyLimit === '' ? null : Number(hash.historyLimit),
      Number(hash.slowModeMs ?? 0), null, hash.createdAt, Number(hash.lastSeq ?? 0)]]
  },
  {
    table: 'grants',
    owner: 'core',
    columns: [text('room'), text('user_id')],
    sqlite: 'SELECT room, user FROM grants ORDER BY room, user',
    redisRoom: async (room) => (await room.redis.smembers(roomKeys(room.id).grants)).sort().map((user) => [room.id, user])
  },
  {
    table: 'messages',
    owner: 'core',
    // Every feature's fields (edits, reactions, thread, replyTo, mentions…) travel in `fields`.
    columns: [text('room'), bigint('seq'), text('id'), text('user_id'), text('text'), text('time'), text('client_id'),
      { name: 'fields', type: 'jsonb' }, bigint('changed_seq')],
    sqlite: 'SELECT room, seq, id, user, text, time, client_id, fields, changed_seq FROM messages ORDER BY room, seq',
    redisRoom: redisMessages
  },
  {
    table: 'sends',
    owner: 'core',
    columns: [text('room'), text('user_id'), text('client_id'), bigint('seq'), text('id'), text('time')],
    sqlite: 'SELECT room, user, client_id, seq, id, time FROM sends WHERE time >= ? ORDER BY room, user, client_id',
    sqliteArgs: () => [sendCutoff()],
    redisGlobal: redisSends
  },
  {
    // SQLite: the core's table (its migration 4); Redis: a hash user → read seq per room (read-state/redis.ts).
    table: 'read_state',
    owner: 'read-state',
    columns: [text('room'), text('user_id'), bigint('seq')],
    sqlite: 'SELECT room, user, seq FROM read_state ORDER BY room, user',
    redisRoom: async (room) => Object.entries(await room.redis.hgetall(featureKey('reads', room)))
      .map(([user, seq]): Row => [room.id, user, Number(seq)]).sort(byUser)
  },
  {
    // In the order they were made: SQLite's rowid, Redis' lists (hash seq → [[emoji, user, time]…]); PostgreSQL's id follows the inserts.
    table: 'reactions',
    owner: 'reactions',
    columns: [text('room'), bigint('seq'), text('emoji'), text('user_id'), text('time')],
    sqlite: 'SELECT room, seq, emoji, user, time FROM reactions ORDER BY rowid',
    redisRoom: async (room) => Object.entries(await room.redis.hgetall(featureKey('reactions', room)))
      .sort(([a], [b]) => Number(a) - Number(b))
      .flatMap(([seq, json]) => (JSON.parse(json) as [string, string, string][]).map(([emoji, user, time]): Row => [room.id, Number(seq), emoji, user, time]))
  },
  {
    // Redis: a sorted set of `<root>:<seq>`, each padded to 16 digits (replies/redis.ts).
    table: 'replies',
    owner: 'replies',
    columns: [text('room'), bigint('root'), bigint('seq')],
    sqlite: 'SELECT room, root, seq FROM replies ORDER BY room, root, seq',
    redisRoom: async (room) => (await room.redis.zrange(featureKey('replies', room), 0, -1))
      .map((member): Row => [room.id, Number(member.slice(0, 16)), Number(member.slice(17))])
  },
  {
    // Redis: a sorted set by seq of `<user> NUL <seq>` (mentions/redis.ts).
    table: 'mentions',
    owner: 'mentions',
    columns: [text('room'), text('user_id'), bigint('seq')],
    sqlite: 'SELECT room, user, seq FROM mentions ORDER BY room, user, seq',
    redisRoom: async (room) => (await room.redis.zrange(featureKey('mentions', room), 0, -1)).map((member): Row => {
      const split = member.lastIndexOf('\u0000')
      return [room.id, member.slice(0, split), Number(member.slice(split + 1))]
    })
  },
  {
    // Redis: a hash "<kind> <user>" → {until, reason} (moderation/redis.ts).
    table: 'room_sanctions',
    owner: 'moderation',
    columns: [text('room'), text('user_id'), text('kind'), bigint('until'), text('reason')],
    sqlite: 'SELECT room, user, kind, until, reason FROM room_sanctions ORDER BY room, user, kind',
    redisRoom: async (room) => Object.entries(await room.redis.hgetall(featureKey('sanctions', room))).map(([field, json]): Row => {
      const [kind, user] = field.split(' ')
      const { until, reason } = JSON.parse(json) as { until: number | null, reason: string | null }
      return [room.id, user, kind, until ?? null, reason ?? null]
    })
  },
  {
    table: 'room_roles',
    owner: 'roles',
    columns: [text('room'), text('user_id'), text('role')],
    sqlite: 'SELECT room, user, role FROM room_roles ORDER BY room, user',
    redisRoom: async (room) => Object.entries(await room.redis.hgetall(featureKey('roles', room)))
      .map(([user, role]): Row => [room.id, user, role]).sort(byUser)
  },
  {
    // The queue's order: SQLite's rowid, Redis' `chat:reports`; PostgreSQL's position follows the inserts.
    table: 'reports',
    owner: 'reports',
    columns: [text('id'), text('room'), bigint('seq'), { name: 'message', type: 'jsonb' }, text('reporter'), text('reason'), text('time')],
    sqlite: 'SELECT id, room, seq, message, reporter, reason, time FROM reports ORDER BY rowid',
    redisGlobal: redisReports
  },
  {
    // Redis: a set of the participants per DM room (direct-messages/redis.ts); the per-user index is not needed.
    table: 'dm_users',
    owner: 'direct-messages',
    columns: [text('room'), text('user_id')],
    sqlite: 'SELECT room, user FROM dm_users ORDER BY room, user',
    redisRoom: async (room) => (await room.redis.smembers(featureKey('dm', room))).sort().map((user): Row => [room.id, user])
  },
  {
    table: 'push_subscriptions',
    owner: 'push',
    columns: [text('endpoint'), text('user_id'), text('p256dh'), text('auth'), bigint('created_at')],
    sqlite: 'SELECT endpoint, user, p256dh, auth, created_at FROM push_subscriptions ORDER BY endpoint',
    redisGlobal: redisPushSubscriptions
  },
  {
    table: 'push_levels',
    owner: 'push',
    columns: [text('room'), text('user_id'), text('level')],
    sqlite: 'SELECT room, user, level FROM push_levels ORDER BY room, user',
    redisRoom: async (room) => Object.entries(await room.redis.hgetall(featureKey('pushlevels', room)))
      .map(([user, level]): Row => [room.id, user, level]).sort(byUser)
  },
  {
    table: 'push_windows',
    owner: 'push',
    columns: [text('room'), text('user_id'), bigint('ends'), bigint('seq'), text('payload')],
    sqlite: 'SELECT room, user, ends, seq, payload FROM push_windows ORDER BY room, user',
    redisGlobal: redisPushWindows
  },
  {
    table: 'push_queue',
    owner: 'push',
    columns: [bigint('id'), text('endpoint'), text('user_id'), text('room'), bigint('seq'), text('payload'), bigint('due'), { name: 'attempts', type: 'integer' }, bigint('created_at')],
    sqlite: 'SELECT id, endpoint, user, room, seq, payload, due, attempts, created_at FROM push_queue ORDER BY id',
    redisGlobal: redisPushQueue,
    serial: 'id'
  },
  // The webhook outbox, as it stood: PostgreSQL's tables are SQLite's, so the events not yet
  // delivered (and the parked ones) go on from where they were. Redis keeps its outbox in
  // streams with a consumer group per URL named by the URL's hash: not moved (see notes).
  {
    table: 'webhook_outbox',
    owner: 'core',
    columns: [bigint('seq'), text('room'), text('body'), { name: 'targets', type: 'jsonb' }],
    sqlite: 'SELECT seq, room, body, targets FROM webhook_outbox ORDER BY seq',
    serial: 'seq'
  },
  {
    table: 'webhook_urls',
    owner: 'core',
    columns: [text('url'), bigint('since')],
    sqlite: 'SELECT url, since FROM webhook_urls ORDER BY url',
    onConflict: 'ON CONFLICT (url) DO UPDATE SET since = excluded.since'
  },
  {
    table: 'webhook_progress',
    owner: 'core',
    columns: [text('url'), text('room'), bigint('seq')],
    sqlite: 'SELECT url, room, seq FROM webhook_progress ORDER BY url, room',
    onConflict: 'ON CONFLICT (url, room) DO UPDATE SET seq = excluded.seq'
  },
  {
    table: 'webhook_attempts',
    owner: 'core',
    columns: [text('url'), bigint('seq'), { name: 'attempts', type: 'integer' }, text('last_error')],
    sqlite: 'SELECT url, seq, attempts, last_error FROM webhook_attempts ORDER BY url, seq',
    onConflict: 'ON CONFLICT (url, seq) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error'
  },
  {
    table: 'webhook_failed',
    owner: 'core',
    columns: [bigint('id'), text('event_id'), text('type'), text('room'), text('url'), { name: 'attempts', type: 'integer' }, text('last_error'), text('body')],
    sqlite: 'SELECT id, event_id, type, room, url, attempts, last_error, body FROM webhook_failed ORDER BY id',
    serial: 'id'
  }
]
