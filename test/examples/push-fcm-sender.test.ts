import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { connectAs, eventually, freePort, ROOT, startServer, type TestClient } from '../helper.ts'
import { SECRET } from '../webhooks/receiver.ts'

interface FcmRequest { path: string, authorization: string, message: { token: string, notification: { title: string, body: string }, data: Record<string, string> } }

/** A stand-in for FCM's HTTP v1 API on loopback: records each send; a token named stale-… is unknown (404 UNREGISTERED). */
async function startFcm (t: TestContext): Promise<{ url: string, sends: FcmRequest[] }> {
  const sends: FcmRequest[] = []
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => { body += chunk.toString() })
    request.on('end', () => {
      const { message } = JSON.parse(body) as Pick<FcmRequest, 'message'>
      sends.push({ path: request.url ?? '', authorization: request.headers.authorization ?? '', message })
      const unknown = message.token.startsWith('stale-')
      response.writeHead(unknown ? 404 : 200, { 'content-type': 'application/json' })
      response.end(JSON.stringify(unknown
        ? { error: { code: 404, status: 'NOT_FOUND', details: [{ errorCode: 'UNREGISTERED' }] } }
        : { name: `projects/demo/messages/${sends.length}` }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sends }
}

/** A user the rule notifies in `room`: a read seq there (its own message), and no connection joined. */
async function away (client: TestClient, room: string): Promise<void> {
  await client.join(room)
  await client.request({ type: 'message', room, text: 'here' })
  await client.request({ type: 'leave', room })
}

test('examples/push-fcm-sender.ts turns signed notification.due events into FCM sends, forgets stale tokens, and refuses unsigned requests', { timeout: 60_000 }, async (t) => {
  const fcm = await startFcm(t)
  const port = await freePort()
  const receiver = `http://127.0.0.1:${port}/`
  const server = await startServer(t, {
    CHAT_WEBHOOK_URLS: receiver, CHAT_WEBHOOK_SECRET: SECRET, CHAT_WEBHOOK_EVENTS: 'notification.due', CHAT_PUSH_COALESCE_MS: 1500
  })
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'examples/push-fcm-sender.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      CHAT_WEBHOOK_SECRET: SECRET,
      CHAT_URL: server.url,
      FCM_URL: fcm.url,
      FCM_PROJECT: 'demo',
      FCM_ACCESS_TOKEN: 'test-access-token',
      DEVICES: JSON.stringify({ alice: ['phone-1', 'stale-1'] })
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.after(() => { child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
  await eventually(() => out.includes('listening'), 20_000, `the sender listens: ${out}`)

  // Not signed with the secret, or signed and then changed: refused, nothing sent.
  assert.equal((await fetch(receiver, { method: 'POST', body: '{}' })).status, 400)
  const forged = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' }
  assert.equal((await fetch(receiver, { method: 'POST', headers: forged, body: '{"type":"notification.due"}' })).status, 400)

  const alice = await connectAs(t, server, 'alice')
  await away(alice, 'lobby')
  const bob = await connectAs(t, server, 'bob')
  await bob.join('lobby')
  const first = await bob.request({ type: 'message', room: 'lobby', text: '@alice ship it' })
  // Within the window the first one opened: one notification at its end, with the newest.
  await bob.request({ type: 'message', room: 'lobby', text: 'second' })
  const third = await bob.request({ type: 'message', room: 'lobby', text: 'third' })
  await eventually(() => fcm.sends.length === 2, 15_000, `FCM sends: ${out}`)
  for (const send of fcm.sends) {
    assert.equal(send.path, '/v1/projects/demo/messages:send')
    assert.equal(send.authorization, 'Bearer test-access-token')
    assert.deepEqual(send.message.notification, { title: 'bob in lobby', body: '@alice ship it' })
    assert.deepEqual(send.message.data, { room: 'lobby', seq: String(first.seq) })
  }
  assert.deepEqual(fcm.sends.map((send) => send.message.token).sort(), ['phone-1', 'stale-1'])

  // The window's notification goes to the device FCM still knows.
  await eventually(() => fcm.sends.length === 3, 15_000, `the window's notification: ${out}`)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  assert.equal(fcm.sends.length, 3, 'one send: the stale token was forgotten')
  assert.equal(fcm.sends[2]!.message.token, 'phone-1')
  assert.deepEqual(fcm.sends[2]!.message.data, { room: 'lobby', seq: String(third.seq) })
  assert.equal(fcm.sends[2]!.message.notification.body, 'third')
})
