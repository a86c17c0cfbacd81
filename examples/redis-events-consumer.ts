/**
 * A team's worker reading the chat service's events straight from Redis, with a consumer group:
 * every event of every room, at least once, each room's in order, without a webhook receiver.
 *
 *   REDIS_URL=redis://localhost:6379 GROUP=search-indexer node --import tsx examples/redis-events-consumer.ts
 *   (on a Redis Cluster, add CHAT_REDIS_CLUSTER=true and name any node in REDIS_URL)
 *
 * The events live in 256 streams, one per partition of rooms (a room is always in the same one),
 * while CHAT_WEBHOOK_URLS is set on the service; the service lists their names, in partition
 * order, in the Redis list `chat:outboxes` when it starts. Each entry has
 * the fields `r` (the room) and `e` (the event JSON, the body a webhook receives); an entry with a
 * `to` field is a parked event retried for some webhook URLs, already seen once: skip it.
 *
 * The group is created at the end of each stream (events from now on; `0` instead of `$` takes
 * every event still kept). The service keeps entries until every group has acknowledged them, so
 * delete a group you stop using (XGROUP DESTROY), or the streams grow. Each partition is read on
 * its own: on a cluster the streams live in different slots, so no single command may read two.
 * Several copies of this worker may share one group (give each its own CONSUMER name), but then
 * one room's events may be handled by two workers at once: keep one worker per group if order
 * matters, or handle ordering by seq.
 */
import { Cluster, Redis } from 'ioredis'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const group = process.env.GROUP ?? 'my-team'
const consumer = process.env.CONSUMER ?? 'worker-1'
const redis = process.env.CHAT_REDIS_CLUSTER === 'true'
  ? new Cluster([{ host: new URL(url).hostname, port: Number(new URL(url).port || 6379) }])
  : new Redis(url)

/** What the team does with an event; it must be done before the entry is acknowledged. */
async function handle (event: { id: string, type: string, room: string, data: unknown }): Promise<void> {
  process.stdout.write(JSON.stringify(event) + '\n')
}

type Entries = [id: string, fields: string[]][]
function fieldOf (fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]
  return undefined
}

/** Reads and handles one stream's entries: first those read before and not acknowledged (a restart), then new ones. */
async function drain (stream: string, from: string): Promise<{ count: number, next: string }> {
  const reply = await redis.xreadgroup('GROUP', group, consumer, 'COUNT', 100, 'STREAMS', stream, from) as [string, Entries][] | null
  const entries = reply?.[0]?.[1] ?? []
  for (const [id, fields] of entries) {
    const body = fieldOf(fields, 'e')
    if (body !== undefined && fieldOf(fields, 'to') === undefined) await handle(JSON.parse(body))
    await redis.xack(stream, group, id)
  }
  // Pending entries are read by id until none is left, then '>' reads new ones.
  return { count: entries.length, next: from === '>' || entries.length === 0 ? '>' : entries.at(-1)![0] }
}

const streams = await redis.lrange('chat:outboxes', 0, -1)
if (streams.length === 0) {
  process.stderr.write('chat:outboxes is empty: start the chat service on this Redis first\n')
  process.exit(1)
}
for (const stream of streams) {
  try {
    await redis.xgroup('CREATE', stream, group, '$', 'MKSTREAM')
  } catch (err) {
    if (!String(err).includes('BUSYGROUP')) throw err
  }
}
process.stderr.write(`reading ${streams.length} streams as ${group}/${consumer}\n`)

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { stopping = true })
const positions = new Map(streams.map((stream) => [stream, '0']))
// eslint-disable-next-line no-unmodified-loop-condition -- the signal handlers set it while the loop awaits
while (!stopping) {
  let handled = 0
  for (const stream of streams) {
    const { count, next } = await drain(stream, positions.get(stream)!)
    positions.set(stream, next)
    handled += count
  }
  // Nothing new anywhere: wait a little rather than spin (a blocking read could serve one stream only).
  if (handled === 0) await new Promise((resolve) => setTimeout(resolve, 200))
}
redis.disconnect()
