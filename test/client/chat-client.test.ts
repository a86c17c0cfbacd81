import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { type AckFrame, ChatError } from '../../src/client/index.ts'
import { eventually, freePort, http, ROOT, spawnServer, startServer, tempDir } from '../helper.ts'
import { inSeconds, signHs256 } from '../security/jwt.ts'
import { startTcpProxy } from '../tcp-proxy.ts'
import { client, joinedTo, range, record, rejectsWith, seqs, storedMessages, within } from './client-helper.ts'

test('two clients keep chatting through a SIGKILL and restart: each seq once and in order, each message stored once', { timeout: 120_000 }, async (t) => {
  // A high frame rate: everything sent during the outage is resent in one burst.
  const env = { CHAT_DB: join(tempDir(t), 'chat.sqlite'), PORT: String(await freePort()), CHAT_MSG_RATE: '1000' }
  let server = await spawnServer(t, env)
  const alice = client(t, { url: server.wsUrl, user: 'alice' })
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  const seen = { alice: record(alice), bob: record(bob) }
  await Promise.all([alice.connect(), bob.connect()])
  await alice.join('lobby')
  await bob.join('lobby')

  const sent: string[] = []
  const acks: Promise<AckFrame>[] = []
  let restarted: Promise<void> | undefined
  for (let i = 0; i < 50; i++) {
    for (const [name, chat] of [['alice', alice], ['bob', bob]] as const) {
      const text = `${name} says ${i}`
      sent.push(text)
      acks.push(chat.send('lobby', text))
    }
    if (i === 15) {
      server.child.kill('SIGKILL')
      await server.exited
      restarted = spawnServer(t, env).then((next) => { server = next })
    }
    await sleep(30)
  }
  await restarted
  const acked = await within(Promise.all(acks), 60_000, 'every ack')

  const stored = await storedMessages(server.url, 'lobby')
  assert.deepEqual(stored.map((message) => message.text).sort(), [...sent].sort(), 'every message sent is stored exactly once')
  assert.deepEqual(seqs(stored), range(stored.length))
  for (const [index, ack] of acked.entries()) {
    const message = stored.find((candidate) => candidate.seq === ack.seq)
    assert.equal(message?.text, sent[index], `the ack of "${sent[index]}" names its stored message`)
    assert.equal(message?.id, ack.id)
  }
  for (const [name, record] of Object.entries(seen)) {
    await eventually(() => record.messages.length >= stored.length, 20_000, `${name} caught up`)
    assert.deepEqual(seqs(record.messages), range(stored.length), `${name} got every seq once, in order`)
    assert.deepEqual(record.messages.map((message) => message.text), stored.map((message) => message.text))
    assert.ok(record.states.includes('reconnecting'), `${name} noticed the restart`)
    assert.equal(record.states.at(-1), 'open', `${name} is back`)
  }
})

test('requests are answered by their replies, and errors reject with the frame\'s code', async (t) => {
  const server = await startServer(t)
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'staff', private: true })).status, 201)
  const chat = client(t, { url: server.wsUrl, user: 'mallory' })
  const welcome = await chat.connect()
  assert.equal(welcome.user, 'mallory')
  assert.equal(chat.state, 'open')

  const forbidden = await rejectsWith(chat.join('staff'), 'forbidden')
  assert.equal(forbidden.room, 'staff')
  assert.deepEqual(chat.joinedRooms, [], 'a refused room is not joined again later')
  await rejectsWith(chat.send('lobby', 'not joined yet'), 'not_member')
  await rejectsWith(chat.leave('lobby'), 'not_member')

  const joined = await chat.join('lobby')
  assert.equal(joined.type, 'joined')
  assert.deepEqual(joined.members, ['mallory'])
  for (let i = 1; i <= 5; i++) {
    const ack = await chat.send('lobby', `m${i}`)
    assert.equal(ack.seq, i)
  }
  const again = await chat.send('lobby', 'kept by the caller', { clientId: 'note:1' })
  const repeat = await chat.send('lobby', 'kept by the caller', { clientId: 'note:1' })
  assert.equal(again.duplicate, undefined)
  assert.deepEqual({ seq: repeat.seq, id: repeat.id, duplicate: repeat.duplicate }, { seq: again.seq, id: again.id, duplicate: true })
  assert.deepEqual(seqs(await chat.history('lobby', { limit: 2 })), [5, 6])
  assert.deepEqual(seqs(await chat.history('lobby', { before: 5, limit: 2 })), [3, 4])
  assert.equal((await chat.leave('lobby')).type, 'left')
  assert.deepEqual(chat.joinedRooms, [])
})

test('a send past CHAT_MSG_RATE rejects with rate_limited and is not stored', async (t) => {
  const server = await startServer(t, { CHAT_MSG_RATE: 1 })
  const chat = client(t, { url: server.wsUrl, user: 'hasty' })
  await chat.connect()
  await chat.join('lobby')
  const results = await Promise.allSettled(range(6).map((i) => chat.send('lobby', `burst ${i}`)))
  const refused = results.filter((result) => result.status === 'rejected')
  assert.ok(refused.length > 0, 'some sends of the burst were refused')
  for (const result of refused) {
    assert.ok(result.reason instanceof ChatError)
    assert.equal(result.reason.code, 'rate_limited')
  }
  const stored = await storedMessages(server.url, 'lobby')
  assert.equal(stored.length, results.length - refused.length, 'only the acknowledged sends were stored')
})

test('a stalled link is noticed by the ping and replaced; nothing is lost or doubled', { timeout: 60_000 }, async (t) => {
  // Hooks run in the order they were added: this one first, so the server's close does not
  // wait for a link the proxy holds open while alice keeps reconnecting through it.
  let stop = () => {}
  t.after(() => stop())
  // The server would notice the dead peer only after ten minutes: the client's ping must.
  const server = await startServer(t, { CHAT_HEARTBEAT_MS: 600_000 })
  const port = Number(new URL(server.url).port)
  const proxy = await startTcpProxy(t, port)
  const alice = client(t, { url: `ws://127.0.0.1:${proxy.port}${new URL(server.wsUrl).pathname}`, user: 'alice' })
  stop = () => { alice.close(); proxy.close() }
  const bob = client(t, { url: server.wsUrl, user: 'bob' })
  const seen = record(alice)
  await joinedTo('lobby', alice, bob)
  await bob.send('lobby', 'before')
  await eventually(() => seen.messages.length === 1, 5000, 'first message')

  proxy.stall()
  const during = alice.send('lobby', 'sent into the stalled link')
  await bob.send('lobby', 'while alice is stalled')

  await eventually(() => seen.disconnects.length > 0, 20_000, 'the dead link noticed')
  assert.match(seen.disconnects[0]!.reason, /no answer to ping/)
  assert.equal(seen.disconnects[0]!.wasOpen, true)
  const ack = await within(during, 20_000, 'the ack of the message sent into the stalled link')
  await eventually(() => seen.messages.length === 3, 10_000, 'alice caught up')
  assert.equal(proxy.accepted(), 2, 'alice reconnected through a new link')
  assert.deepEqual(seen.messages.map((message) => `${message.seq} ${message.user}: ${message.text}`), [
    '1 bob: before',
    '2 bob: while alice is stalled',
    '3 alice: sent into the stalled link'
  ])
  assert.equal(ack.seq, 3)
  assert.deepEqual((await storedMessages(server.url, 'lobby')).map((message) => message.text),
    ['before', 'while alice is stalled', 'sent into the stalled link'])
})

test('a message whose ack was lost is resent after the reconnect and stored once (ack duplicate: true)', { timeout: 60_000 }, async (t) => {
  let stop = () => {}
  t.after(() => stop())
  const server = await startServer(t, { CHAT_HEARTBEAT_MS: 600_000 })
  const proxy = await startTcpProxy(t, Number(new URL(server.url).port))
  const alice = client(t, { url: `ws://127.0.0.1:${proxy.port}${new URL(server.wsUrl).pathname}`, user: 'alice' })
  stop = () => { alice.close(); proxy.close() }
  const seen = record(alice)
  await alice.connect()
  await alice.join('lobby')
  await alice.send('lobby', 'first')

  // The server gets the next message and stores it, but neither its broadcast nor its ack
  // comes back; the client must send it again on the new connection.
  proxy.stall('toClient')
  const ack = await within(alice.send('lobby', 'stored, answer lost'), 30_000, 'the ack after the resend')
  assert.equal(ack.duplicate, true, 'the resend was recognised as a repeat')
  assert.equal(ack.seq, 2)
  assert.equal(proxy.accepted(), 2)
  assert.match(seen.disconnects[0]?.reason ?? '', /no answer to ping/)
  const stored = await storedMessages(server.url, 'lobby')
  assert.deepEqual(stored.map((message) => message.text), ['first', 'stored, answer lost'])
  assert.equal(stored[1]!.id, ack.id)
  await eventually(() => seen.messages.length === 2, 5000, 'the stored message replayed')
  assert.deepEqual(seqs(seen.messages), [1, 2])
})

test('a token function is called again for every connection (JWT mode, expiring tokens)', { timeout: 60_000 }, async (t) => {
  const secret = 'a-secret-of-at-least-thirty-two-characters'
  const server = await startServer(t, { CHAT_JWT_SECRET: secret })
  let calls = 0
  // The first token expires in two seconds, the server closes with 1008, the client asks for a new one.
  const chat = client(t, {
    url: server.wsUrl,
    token: async () => signHs256({ sub: 'carol', exp: inSeconds(++calls === 1 ? 2 : 3600) }, secret)
  })
  const seen = record(chat)
  assert.equal((await chat.connect()).user, 'carol')
  await chat.join('lobby')
  await eventually(() => seen.disconnects.length === 1 && chat.state === 'open', 20_000, 'reconnected with a fresh token')
  assert.deepEqual(seen.disconnects[0], { code: 1008, reason: 'token expired', wasOpen: true })
  assert.equal(calls, 2)
  const ack = await chat.send('lobby', 'still here')
  await eventually(() => seen.messages.some((message) => message.seq === ack.seq), 5000, 'own message')
  assert.equal(seen.messages.at(-1)?.user, 'carol')
})

test('close() stops every timer and socket: a program that closes its clients exits by itself', { timeout: 60_000 }, async (t) => {
  const server = await startServer(t)
  const nobody = `ws://127.0.0.1:${await freePort()}/ws`
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/client-close.ts'), server.wsUrl, nobody], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']
  })
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  assert.equal(code, 0, output)
  assert.deepEqual(output.trim().split('\n'), [
    'sent: 1',
    'pending send: closed',
    'connect: closed',
    'state: closed'
  ])
})
