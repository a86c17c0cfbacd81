import type { LocalStorage } from '../../engine/local/storage.ts'
import type { NotifyLevel, PushSubscription } from './schemas.ts'
import type { Delivery, DueOptions, Made, Notification, PushStore } from './store.ts'

/**
 * Subscriptions (an endpoint is one user's), levels per room (gone with the room), each user
 * and room's coalescing window (`seq` and `payload` set while a notification waits for its end),
 * and the queue of deliveries, each to one endpoint.
 */
const MIGRATIONS = [
  `
  CREATE TABLE push_subscriptions (
    endpoint TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user);
  CREATE TABLE push_levels (
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user TEXT NOT NULL,
    level TEXT NOT NULL,
    PRIMARY KEY (room, user)
  ) WITHOUT ROWID;
  CREATE TABLE push_windows (
    room TEXT NOT NULL,
    user TEXT NOT NULL,
    ends INTEGER NOT NULL,
    seq INTEGER,
    payload TEXT,
    PRIMARY KEY (room, user)
  ) WITHOUT ROWID;
  CREATE INDEX push_windows_by_end ON push_windows (ends);
  CREATE TABLE push_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    user TEXT NOT NULL,
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    payload TEXT NOT NULL,
    due INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX push_queue_by_due ON push_queue (due);
  CREATE INDEX push_queue_by_endpoint ON push_queue (endpoint);
  `
]

interface WindowRow { ends: number, seq: number | null }
interface EndedRow { room: string, user: string, seq: number, payload: string }
interface QueueRow { id: number, user: string, room: string, seq: number, payload: string, attempts: number, created_at: number, endpoint: string, p256dh: string, auth: string }

/** Push on SQLite: every step one transaction on the one connection, with the webhook event it records. */
export function sqlitePush (storage: LocalStorage): PushStore {
  const { db } = storage
  storage.migrate('push', MIGRATIONS)
  const statements = {
    owner: db.prepare<[string], { user: string }>('SELECT user FROM push_subscriptions WHERE endpoint = ?'),
    subscribe: db.prepare<[string, string, string, string, number]>(`INSERT INTO push_subscriptions (endpoint, user, p256dh, auth, created_at)
      VALUES (?, ?, ?, ?, ?) ON CONFLICT (endpoint) DO UPDATE SET user = excluded.user, p256dh = excluded.p256dh, auth = excluded.auth`),
    unsubscribe: db.prepare<[string, string]>('DELETE FROM push_subscriptions WHERE endpoint = ? AND user = ?'),
    ofUser: db.prepare<[string], { endpoint: string, p256dh: string, auth: string }>('SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE user = ? ORDER BY created_at, endpoint'),
    drop: db.prepare<[string]>('DELETE FROM push_subscriptions WHERE endpoint = ?'),
    dropQueued: db.prepare<[string]>('DELETE FROM push_queue WHERE endpoint = ?'),
    roomExists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM rooms WHERE id = ?'),
    setLevel: db.prepare<[string, string, string]>('INSERT INTO push_levels (room, user, level) VALUES (?, ?, ?) ON CONFLICT (room, user) DO UPDATE SET level = excluded.level'),
    clearLevel: db.prepare<[string, string]>('DELETE FROM push_levels WHERE room = ? AND user = ?'),
    levels: db.prepare<[string], { user: string, level: NotifyLevel }>('SELECT user, level FROM push_levels WHERE room = ?'),
    grantees: db.prepare<[string], { user: string }>('SELECT user FROM grants WHERE room = ?'),
    window: db.prepare<[string, string], WindowRow>('SELECT ends, seq FROM push_windows WHERE room = ? AND user = ?'),
    open: db.prepare<[string, string, number]>(`INSERT INTO push_windows (room, user, ends, seq, payload) VALUES (?, ?, ?, NULL, NULL)
      ON CONFLICT (room, user) DO UPDATE SET ends = excluded.ends, seq = NULL, payload = NULL`),
    wait: db.prepare<[number, string, string, string]>('UPDATE push_windows SET seq = ?, payload = ? WHERE room = ? AND user = ?'),
    ended: db.prepare<[number, number], EndedRow>('SELECT room, user, seq, payload FROM push_windows WHERE ends <= ? AND seq IS NOT NULL ORDER BY ends LIMIT ?'),
    forgetEnded: db.prepare<[number]>('DELETE FROM push_windows WHERE ends <= ? AND seq IS NULL'),
    queue: db.prepare<[{ room: string, seq: number, payload: string, now: number, user: string }]>(`INSERT INTO push_queue
      (endpoint, user, room, seq, payload, due, attempts, created_at)
      SELECT endpoint, user, @room, @seq, @payload, @now, 0, @now FROM push_subscriptions WHERE user = @user`),
    due: db.prepare<[number, number], QueueRow>(`SELECT q.id, q.user, q.room, q.seq, q.payload, q.attempts, q.created_at, q.endpoint, s.p256dh, s.auth
      FROM push_queue q JOIN push_subscriptions s ON s.endpoint = q.endpoint AND s.user = q.user WHERE q.due <= ? ORDER BY q.due LIMIT ?`),
    // Deliveries whose subscription is no longer the user's (removed, or registered by another user).
    orphans: db.prepare<[string, string]>('DELETE FROM push_queue WHERE endpoint = ? AND user <> ?'),
    unqueue: db.prepare<[string, string]>('DELETE FROM push_queue WHERE endpoint = ? AND user = ?'),
    lend: db.prepare<[number, number]>('UPDATE push_queue SET due = ? WHERE id = ?'),
    finish: db.prepare<[number]>('DELETE FROM push_queue WHERE id = ?'),
    retry: db.prepare<[number, number, number]>('UPDATE push_queue SET attempts = ?, due = ? WHERE id = ?'),
    pending: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM push_queue')
  }

  /** Records each due notification's event and queues its deliveries; inside the caller's transaction. */
  function makeDue (due: Notification[], options: DueOptions): number {
    let queued = 0
    const time = new Date(options.now).toISOString()
    for (const item of due) {
      storage.record('notification.due', item.room, time, { user: item.user, seq: item.seq })
      if (options.push) queued += statements.queue.run({ room: item.room, seq: item.seq, payload: item.payload, now: options.now, user: item.user }).changes
    }
    return queued
  }

  const note = db.transaction((items: Notification[], options: DueOptions): Made => {
    const due: Notification[] = []
    for (const item of items) {
      const window = statements.window.get(item.room, item.user)
      if (window === undefined || (window.ends <= options.now && window.seq === null)) {
        statements.open.run(item.room, item.user, options.now + options.windowMs)
        due.push(item)
      } else if (window.seq === null || item.seq > window.seq) {
        statements.wait.run(item.seq, item.payload, item.room, item.user)
      }
    }
    return { due, queued: makeDue(due, options) }
  })

  const flushEnded = db.transaction((options: DueOptions, limit: number): Made => {
    const due = statements.ended.all(options.now, limit)
    for (const row of due) statements.open.run(row.room, row.user, options.now + options.windowMs)
    statements.forgetEnded.run(options.now)
    return { due, queued: makeDue(due, options) }
  })

  const take = db.transaction((limit: number, leaseMs: number, now: number): Delivery[] => {
    const rows = statements.due.all(now, limit)
    for (const row of rows) statements.lend.run(now + leaseMs, row.id)
    return rows.map((row) => ({
      id: String(row.id),
      user: row.user,
      room: row.room,
      seq: row.seq,
      subscription: { endpoint: row.endpoint, keys: { p256dh: row.p256dh, auth: row.auth } },
      payload: row.payload,
      attempts: row.attempts,
      createdAt: row.created_at
    }))
  })

  const finishAll = db.transaction((ids: string[]) => {
    for (const id of ids) statements.finish.run(Number(id))
  })

  const subscribe = db.transaction((user: string, subscription: PushSubscription) => {
    statements.subscribe.run(subscription.endpoint, user, subscription.keys.p256dh, subscription.keys.auth, Date.now())
    statements.orphans.run(subscription.endpoint, user)
  })

  const unsubscribe = db.transaction((user: string, endpoint: string) => {
    if (statements.unsubscribe.run(endpoint, user).changes > 0) statements.unqueue.run(endpoint, user)
  })

  const drop = db.transaction((endpoint: string) => {
    statements.drop.run(endpoint)
    statements.dropQueued.run(endpoint)
  })

  return {
    async subscribe (user, subscription) {
      subscribe(user, subscription)
    },
    async unsubscribe (user, endpoint) {
      unsubscribe(user, endpoint)
    },
    async subscriptionsOf (user) {
      return statements.ofUser.all(user).map((row) => ({ endpoint: row.endpoint, keys: { p256dh: row.p256dh, auth: row.auth } }))
    },
    async setLevel (room, user, level) {
      if (statements.roomExists.get(room) === undefined) return false
      if (level === 'all') statements.clearLevel.run(room, user)
      else statements.setLevel.run(room, user, level)
      return true
    },
    async audience (room) {
      const levels: Record<string, NotifyLevel> = {}
      for (const row of statements.levels.all(room)) levels[row.user] = row.level
      return { grantees: statements.grantees.all(room).map((row) => row.user), levels }
    },
    async note (items, options) {
      return note(items, options)
    },
    async flushEnded (options, limit) {
      return flushEnded(options, limit)
    },
    async take (limit, leaseMs, now) {
      return take(limit, leaseMs, now)
    },
    async finish (ids) {
      finishAll(ids)
    },
    async retryAt (id, attempts, at) {
      statements.retry.run(attempts, at, Number(id))
    },
    async dropSubscription (endpoint) {
      drop(endpoint)
    },
    async pending () {
      return statements.pending.get()!.n
    }
  }
}
