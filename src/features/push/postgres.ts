import type { PostgresStorage, Sql } from '../../engine/postgres/storage.ts'
import type { NotifyLevel } from './schemas.ts'
import type { Delivery, DueOptions, Notification, PushStore } from './store.ts'

/** As on SQLite (sqlite.ts): subscriptions, levels (gone with the room), windows and the queue. */
const MIGRATIONS = [
  `
  CREATE TABLE push_subscriptions (
    endpoint text PRIMARY KEY,
    user_id text NOT NULL,
    p256dh text NOT NULL,
    auth text NOT NULL,
    created_at bigint NOT NULL
  );
  CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id);
  CREATE TABLE push_levels (
    room text COLLATE "C" NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id text NOT NULL,
    level text NOT NULL,
    PRIMARY KEY (room, user_id)
  );
  CREATE TABLE push_windows (
    room text NOT NULL,
    user_id text NOT NULL,
    ends bigint NOT NULL,
    seq bigint,
    payload text,
    PRIMARY KEY (room, user_id)
  );
  CREATE INDEX push_windows_by_end ON push_windows (ends);
  CREATE TABLE push_queue (
    id bigserial PRIMARY KEY,
    endpoint text NOT NULL,
    user_id text NOT NULL,
    room text NOT NULL,
    seq bigint NOT NULL,
    payload text NOT NULL,
    due bigint NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    created_at bigint NOT NULL
  );
  CREATE INDEX push_queue_by_due ON push_queue (due);
  CREATE INDEX push_queue_by_endpoint ON push_queue (endpoint);
  `
]

interface QueueRow { id: number, user_id: string, room: string, seq: number, payload: string, attempts: number, created_at: number, endpoint: string, p256dh: string, auth: string }

/** Claims ended windows with pending notifications (SKIP LOCKED: two nodes never take the same one) and opens a new window for each. */
const FLUSH_ENDED = `WITH picked AS (
    SELECT room, user_id, seq, payload FROM push_windows WHERE ends <= $1 AND seq IS NOT NULL ORDER BY ends LIMIT $3 FOR UPDATE SKIP LOCKED
  ), opened AS (
    UPDATE push_windows w SET ends = $2, seq = NULL, payload = NULL FROM picked p WHERE w.room = p.room AND w.user_id = p.user_id
  )
  SELECT room, user_id AS "user", seq, payload FROM picked`

/** Lends the due deliveries to this node until $2, with their subscription's keys. */
const TAKE = `WITH picked AS (
    SELECT id FROM push_queue WHERE due <= $1 ORDER BY due LIMIT $3 FOR UPDATE SKIP LOCKED
  )
  UPDATE push_queue q SET due = $2 FROM picked, push_subscriptions s
  WHERE q.id = picked.id AND s.endpoint = q.endpoint AND s.user_id = q.user_id
  RETURNING q.id, q.user_id, q.room, q.seq, q.payload, q.attempts, q.created_at, q.endpoint, s.p256dh, s.auth`

/** Push on PostgreSQL: each step one transaction, with the webhook events it records; shared by every node. */
export function postgresPush (storage: PostgresStorage): PushStore {
  const { sql } = storage
  storage.migrate('push', MIGRATIONS)

  /** Records each due notification's event and queues its deliveries, inside the step's transaction. */
  async function makeDue (tx: Sql, due: Notification[], options: DueOptions): Promise<number> {
    if (due.length === 0) return 0
    const time = new Date(options.now).toISOString()
    for (const item of due) await storage.record(tx, 'notification.due', item.room, time, { user: item.user, seq: item.seq })
    if (!options.push) return 0
    const { rowCount } = await tx.query(`INSERT INTO push_queue (endpoint, user_id, room, seq, payload, due, attempts, created_at)
      SELECT s.endpoint, s.user_id, d.room, d.seq, d.payload, $1, 0, $1
      FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[]) AS d(user_id, room, seq, payload)
      JOIN push_subscriptions s ON s.user_id = d.user_id`,
    [options.now, due.map((item) => item.user), due.map((item) => item.room), due.map((item) => item.seq), due.map((item) => item.payload)])
    return rowCount ?? 0
  }

  return {
    async subscribe (user, subscription) {
      await storage.transaction(async (tx) => {
        await tx.query(`INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, created_at) VALUES ($1, $2, $3, $4, $5)
          ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth`,
        [subscription.endpoint, user, subscription.keys.p256dh, subscription.keys.auth, Date.now()])
        // Deliveries to this endpoint queued for its former user are no longer to be sent.
        await tx.query('DELETE FROM push_queue WHERE endpoint = $1 AND user_id <> $2', [subscription.endpoint, user])
      })
    },
    async unsubscribe (user, endpoint) {
      await storage.transaction(async (tx) => {
        const { rowCount } = await tx.query('DELETE FROM push_subscriptions WHERE endpoint = $1 AND user_id = $2', [endpoint, user])
        if ((rowCount ?? 0) > 0) await tx.query('DELETE FROM push_queue WHERE endpoint = $1 AND user_id = $2', [endpoint, user])
      })
    },
    async subscriptionsOf (user) {
      const { rows } = await sql.query<{ endpoint: string, p256dh: string, auth: string }>(
        'SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at, endpoint', [user])
      return rows.map((row) => ({ endpoint: row.endpoint, keys: { p256dh: row.p256dh, auth: row.auth } }))
    },
    async setLevel (room, user, level) {
      const { rowCount } = level === 'all'
        ? await sql.query('WITH gone AS (DELETE FROM push_levels WHERE room = $1 AND user_id = $2) SELECT 1 FROM rooms WHERE id = $1', [room, user])
        : await sql.query(`INSERT INTO push_levels (room, user_id, level) SELECT id, $2, $3 FROM rooms WHERE id = $1
            ON CONFLICT (room, user_id) DO UPDATE SET level = excluded.level`, [room, user, level])
      return rowCount === 1
    },
    async audience (room) {
      const { rows } = await sql.query<{ grantees: string[], users: string[], levels: NotifyLevel[] }>(`SELECT
        ARRAY(SELECT user_id FROM grants WHERE room = $1) AS grantees,
        ARRAY(SELECT user_id FROM push_levels WHERE room = $1 ORDER BY user_id) AS users,
        ARRAY(SELECT level FROM push_levels WHERE room = $1 ORDER BY user_id) AS levels`, [room])
      const { grantees, users, levels } = rows[0]!
      return { grantees, levels: Object.fromEntries(users.map((user, i) => [user, levels[i]!])) }
    },
    async note (items, options) {
      if (items.length === 0) return { due: [], queued: 0 }
      // Windows are created, then locked, in (room, user) order, so two nodes noting the same
      // windows wait for each other instead of deadlocking; the items are then taken in their
      // own order against each window's state as it goes.
      const keys = [...new Map(items.map((item) => [`${item.room}\0${item.user}`, item])).values()]
        .sort((a, b) => a.room < b.room ? -1 : a.room > b.room ? 1 : a.user < b.user ? -1 : a.user > b.user ? 1 : 0)
      const rooms = keys.map((item) => item.room)
      const users = keys.map((item) => item.user)
      return await storage.transaction(async (tx) => {
        await tx.query(`INSERT INTO push_windows (room, user_id, ends) SELECT r, u, 0 FROM unnest($1::text[], $2::text[]) AS k(r, u)
          ON CONFLICT DO NOTHING`, [rooms, users])
        const { rows } = await tx.query<{ room: string, user_id: string, ends: number, seq: number | null, payload: string | null }>(
          `SELECT w.room, w.user_id, w.ends, w.seq, w.payload FROM push_windows w JOIN unnest($1::text[], $2::text[]) AS k(r, u)
            ON w.room = k.r AND w.user_id = k.u ORDER BY w.room, w.user_id FOR UPDATE OF w`, [rooms, users])
        const windows = new Map(rows.map((row) => [`${row.room}\0${row.user_id}`, { ends: row.ends, seq: row.seq, payload: row.payload }]))
        const due: Notification[] = []
        const changed = new Set<string>()
        for (const item of items) {
          const key = `${item.room}\0${item.user}`
          const window = windows.get(key)
          if (window === undefined) continue
          if (window.ends <= options.now && window.seq === null) {
            window.ends = options.now + options.windowMs
            due.push(item)
          } else if (window.seq === null || item.seq > window.seq) {
            window.seq = item.seq
            window.payload = item.payload
          } else continue
          changed.add(key)
        }
        if (changed.size > 0) {
          const list = [...changed].map((key) => [key.split('\0'), windows.get(key)!] as const)
          await tx.query(`UPDATE push_windows w SET ends = d.ends, seq = d.seq, payload = d.payload
            FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[]) AS d(room, user_id, ends, seq, payload)
            WHERE w.room = d.room AND w.user_id = d.user_id`,
          [list.map(([[room]]) => room), list.map(([[, user]]) => user), list.map(([, w]) => w.ends), list.map(([, w]) => w.seq), list.map(([, w]) => w.payload)])
        }
        return { due, queued: await makeDue(tx, due, options) }
      })
    },
    async flushEnded (options, limit) {
      return await storage.transaction(async (tx) => {
        const { rows } = await tx.query<Notification>(FLUSH_ENDED, [options.now, options.now + options.windowMs, limit])
        await tx.query('DELETE FROM push_windows WHERE ends <= $1 AND seq IS NULL', [options.now])
        return { due: rows, queued: await makeDue(tx, rows, options) }
      })
    },
    async take (limit, leaseMs, now) {
      const { rows } = await sql.query<QueueRow>(TAKE, [now, now + leaseMs, limit])
      return rows.map((row): Delivery => ({
        id: String(row.id),
        user: row.user_id,
        room: row.room,
        seq: row.seq,
        subscription: { endpoint: row.endpoint, keys: { p256dh: row.p256dh, auth: row.auth } },
        payload: row.payload,
        attempts: row.attempts,
        createdAt: row.created_at
      }))
    },
    async finish (ids) {
      if (ids.length > 0) await sql.query('DELETE FROM push_queue WHERE id = ANY($1::bigint[])', [ids.map(Number)])
    },
    async retryAt (id, attempts, at) {
      await sql.query('UPDATE push_queue SET attempts = $2, due = $3 WHERE id = $1', [Number(id), attempts, at])
    },
    async dropSubscription (endpoint) {
      await storage.transaction(async (tx) => {
        await tx.query('DELETE FROM push_subscriptions WHERE endpoint = $1', [endpoint])
        await tx.query('DELETE FROM push_queue WHERE endpoint = $1', [endpoint])
      })
    },
    async pending () {
      const { rows } = await sql.query<{ n: number }>('SELECT COUNT(*)::integer AS n FROM push_queue')
      return rows[0]!.n
    }
  }
}
