import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { connect, exitOf, http, type ServerProcess, spawnServer, tempDir } from '../helper.ts'
import { layoutTest, type RedisTarget } from '../redis-layouts.ts'
import { type Receiver, startReceiver, webhookConfig } from './receiver.ts'

/** A receiver that is down: its port is known (so it can be configured) but closed. */
async function downReceiver (t: TestContext): Promise<Receiver> {
  const receiver = await startReceiver(t)
  await receiver.stop()
  return receiver
}

/** Sends `count` messages to `room` through the process and resolves with their ids. */
async function send (t: TestContext, server: ServerProcess, room: string, count: number): Promise<string[]> {
  const { client } = await connect(`${server.wsUrl}?user=writer`)
  t.after(() => client.ws.terminate())
  await client.join(room)
  const ids: string[] = []
  for (let i = 0; i < count; i++) ids.push((await client.request({ type: 'message', room, text: `m${i}` })).id)
  client.close()
  return ids
}

/**
 * Events recorded while the receiver is down wait in the outbox; the process stops (SIGTERM or
 * SIGKILL) and starts again, and once the receiver is up every event arrives, in order.
 */
async function survives (t: TestContext, env: Record<string, string>, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const receiver = await downReceiver(t)
  const config = { ...env, ...webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'message.created' }) } as Record<string, string>
  const first = await spawnServer(t, config)
  const before = await send(t, first, 'durable', 5)
  first.child.kill(signal)
  const exit = await exitOf(first, 30_000)
  if (signal === 'SIGTERM') assert.equal(exit.code, 0, first.output())

  const second = await spawnServer(t, config)
  const after = await send(t, second, 'durable', 2)
  await receiver.start()
  await receiver.waitFor(7, undefined, 30_000)
  const ids = [...new Set(receiver.delivered.map((event) => event.data.id as string))]
  assert.deepEqual(ids, [...before, ...after], 'every event, in order')
  receiver.assertAllValid()
  assert.equal((await http(second.url, 'GET', '/webhooks/failed')).body.events.length, 0)
}

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`file database: events waiting for a receiver that is down are delivered after a ${signal} and a restart`, { timeout: 90_000 }, async (t) => {
    await survives(t, { CHAT_DB: join(tempDir(t), 'chat.sqlite') }, signal)
  })

  layoutTest(`Redis: events waiting for a receiver that is down are delivered after a ${signal} and a restart`, async (t, redis: RedisTarget) => {
    await survives(t, redis.env, signal)
  })
}
