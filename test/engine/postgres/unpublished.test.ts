import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createPostgresStore } from '../../../src/engine/postgres/store.ts'
import { connectAs, http, startServer } from '../../helper.ts'
import { startPostgres } from '../../postgres-helper.ts'
import { startRedisTarget } from '../../redis-layouts.ts'

test('postgres-redis: a message committed by a node that stopped before publishing it reaches the members of a quiet room within seconds', async (t) => {
  const postgres = await startPostgres(t)
  const redis = postgres === undefined ? undefined : await startRedisTarget(t, 'standalone')
  if (postgres === undefined || redis === undefined) return
  const url = await postgres.database()
  const node = await startServer(t, { ...redis.config, CHAT_DATABASE_URL: url })
  await http(node.url, 'POST', '/rooms', { id: 'quiet' })
  const bob = await connectAs(t, node, 'bob')
  await bob.join('quiet')
  // Another node's store, which commits and never publishes: what a node killed between the two leaves.
  const stopped = createPostgresStore({ url, defaultHistoryLimit: 1000 })
  await stopped.start([])
  t.after(() => stopped.close())
  const { message } = await stopped.append('quiet', 'alice', 'committed, never published')
  const frame = await bob.next((f) => f.type === 'message' && f.room === 'quiet', 15_000)
  assert.equal(frame.seq, message.seq)
  assert.equal(frame.text, 'committed, never published')
  // The room goes on from there, in order.
  await bob.request({ type: 'message', room: 'quiet', text: 'next' })
  assert.deepEqual((await http(node.url, 'GET', '/rooms/quiet/messages')).body.messages.map((m: { seq: number }) => m.seq), [1, 2])
})
