import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { partitionKeys, partitionOf } from '../../src/engine/redis/keys.ts'
import { connectAs, eventually, http, ROOT, startServer } from '../helper.ts'
import { layoutTest } from '../redis-layouts.ts'
import { startReceiver, webhookConfig } from '../webhooks/receiver.ts'

layoutTest('examples/redis-events-consumer.ts reads every event from the outbox streams with a consumer group, as written', async (t, redis) => {
  const receiver = await startReceiver(t)
  const server = await startServer(t, { ...redis.config, ...webhookConfig([receiver]) })
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'examples/redis-events-consumer.ts')], {
    cwd: ROOT, env: { PATH: process.env.PATH, ...redis.env, GROUP: 'indexer' }, stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString() })
  t.after(() => { child.kill('SIGKILL') })
  await eventually(() => err.includes('reading 256 streams'), 30_000, `the consumer starts: ${err}`)

  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  const sent = await alice.request({ type: 'message', room: 'lobby', text: 'for the indexer' })
  assert.equal((await http(server.url, 'DELETE', '/rooms/lobby')).status, 204)
  const events = () => out.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { id: string, type: string, room: string, data: any })
  await eventually(() => events().some((event) => event.type === 'room.deleted'), 15_000, `events read: ${out} ${err}`)
  const lobby = events().filter((event) => event.room === 'lobby')
  assert.deepEqual(lobby.map((event) => event.type), ['room.created', 'presence.join', 'message.created', 'room.deleted'])
  assert.equal(lobby[2]!.data.id, sent.id)
  // The same events, with the same ids, as the webhook receiver got.
  await receiver.waitFor(4)
  assert.deepEqual(lobby.map((event) => event.id), receiver.delivered.filter((event) => event.room === 'lobby').map((event) => event.id))
  // Everything read was acknowledged.
  const inspect = redis.inspect(t)
  const pending = await inspect.xpending(partitionKeys(partitionOf('lobby')).outbox, 'indexer') as [number]
  assert.equal(pending[0], 0)
})
