import type { Config } from '../../config.ts'
import type { EngineLog } from '../../shared/log.ts'
import type { StorageExtension } from '../extension.ts'
import { createRedisEngine } from '../redis/engine.ts'
import { roomKeys } from '../redis/keys.ts'
import { redisTargetOf } from '../redis/target.ts'
import type { RoomFeeds } from '../redis/room-feeds.ts'
import type { ChatEngine, ChatStore, RoomEvent } from '../types.ts'
import { postgresFeedHistory } from './feed-history.ts'
import { createPostgresStore, type PostgresStore } from './store.ts'

/** How often the rooms followed here are compared with the database, for a message committed and never published. */
const UNPUBLISHED_SWEEP_MS = 5000

/**
 * PostgreSQL with Redis (CHAT_DATABASE_URL and REDIS_URL): several nodes on one database. Every
 * durable thing is in PostgreSQL; Redis (single, Sentinel or Cluster) carries events, presence
 * and typing between nodes exactly as on the Redis engine (per-room channels, gap repair),
 * except that a gap is read from PostgreSQL. A message is published once its transaction has
 * committed, and its sender hears back once it has come back over the room's channel, so the
 * message frame comes before the ack on every engine.
 */
export async function createPostgresRedisEngine (config: Config, options: { extensions: StorageExtension[], log: EngineLog }): Promise<ChatEngine> {
  let send: ((event: RoomEvent) => void) | undefined
  const database = createPostgresStore({
    url: config.CHAT_DATABASE_URL!,
    defaultHistoryLimit: config.CHAT_HISTORY_LIMIT,
    defaultRetentionDays: config.CHAT_RETENTION_DAYS,
    events: config.webhooks?.events,
    publish: (event) => send?.(event)
  })
  const engine = await createRedisEngine({
    ...redisTargetOf(config),
    defaultHistoryLimit: config.CHAT_HISTORY_LIMIT,
    log: options.log,
    extensions: options.extensions,
    database: {
      history: postgresFeedHistory(database.storage.sql),
      onDeadLeave: (room, user, time) => database.recordEvent('presence.leave', room, time, { user }),
      async open ({ publish, feeds, storage }) {
        send = publish
        database.storage.redis = storage
        database.usePresence({
          users: (room) => storage.redis.hlen(roomKeys(room).presence),
          has: async (room, user) => await storage.redis.hexists(roomKeys(room).presence, user) === 1
        })
        const ports = await database.start(options.extensions)
        return { store: publishing(database, publish, feeds, options.log), webhooks: database.webhooks, ports }
      }
    }
  })
  // Presence is counted in Redis; its events are recorded in PostgreSQL's outbox with the others.
  // A change of a room waits for the presence events under way in it on this node, so a leave
  // (a kick, say) is recorded before the room's deletion that follows it, as on the other engines.
  const { broker, store } = engine
  const underWay = new Map<string, Set<Promise<unknown>>>()
  const track = <T>(room: string, step: Promise<T>): Promise<T> => {
    let steps = underWay.get(room)
    if (steps === undefined) underWay.set(room, steps = new Set())
    steps.add(step)
    const done = () => {
      steps.delete(step)
      if (steps.size === 0 && underWay.get(room) === steps) underWay.delete(room)
    }
    step.then(done, done)
    return step
  }
  const presenceAdd = broker.presenceAdd.bind(broker)
  const presenceRemove = broker.presenceRemove.bind(broker)
  broker.presenceAdd = (room, user, connectionId) => track(room, (async () => {
    const first = await presenceAdd(room, user, connectionId)
    if (first) await database.recordEvent('presence.join', room, new Date().toISOString(), { user })
    return first
  })())
  broker.presenceRemove = (room, user, connectionId) => track(room, (async () => {
    const last = await presenceRemove(room, user, connectionId)
    if (last) await database.recordEvent('presence.leave', room, new Date().toISOString(), { user })
    return last
  })())
  const deleteRoom = store.deleteRoom.bind(store)
  store.deleteRoom = async (room) => {
    await Promise.allSettled([...underWay.get(room) ?? []])
    return await deleteRoom(room)
  }
  return engine
}

/**
 * The database's store, publishing each new message to every node once committed and
 * answering once this node has delivered it (and reads of the latest seq once this node has
 * delivered up to it), as the Redis engine's store does.
 */
function publishing (store: PostgresStore, publish: (event: RoomEvent) => void, feeds: RoomFeeds, log: EngineLog): ChatStore {
  const caughtUp = (room: string, seq: number) => feeds.caughtUp(room, seq)
    .catch((err: unknown) => log.warn({ err, room }, 'a stored message did not come back over its channel'))
  // A node that stopped between a commit and its publish leaves a message no channel carried:
  // the rooms followed here are compared with the database every few seconds, and one behind is
  // read from history (a quiet room would otherwise wait for its next message to show the gap).
  const sweep = setInterval(() => {
    const rooms = feeds.followed()
    if (rooms.length === 0) return
    store.storage.sql.query<{ id: string, seq: number }>('SELECT id, last_seq AS seq FROM rooms WHERE id = ANY($1::text[])', [rooms]).then(({ rows }) => {
      for (const { id, seq } of rows) if ((feeds.floor(id)?.seq ?? seq) < seq) void caughtUp(id, seq)
    }, (err: unknown) => log.warn({ err }, 'comparing followed rooms with the database failed'))
  }, UNPUBLISHED_SWEEP_MS).unref()
  return {
    ...store,
    async close () {
      clearInterval(sweep)
      await store.close()
    },
    async append (room, user, text, appendOptions) {
      const appended = await store.append(room, user, text, appendOptions)
      if (!appended.duplicate) {
        publish({ kind: 'message', message: appended.message })
        await caughtUp(room, appended.message.seq)
      }
      return appended
    },
    async latestSeq (room) {
      const seq = await store.latestSeq(room)
      await caughtUp(room, seq)
      return seq
    },
    async recover (room, since) {
      const recovery = await store.recover(room, since)
      await caughtUp(room, recovery.latestSeq)
      return recovery
    }
  }
}
