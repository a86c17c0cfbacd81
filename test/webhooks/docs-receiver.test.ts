import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { connectAs, eventually, freePort, ROOT, startServer } from '../helper.ts'
import { SECRET } from './receiver.ts'

/** The receiver of docs/events.md, as written there. */
function documentedReceiver (): string {
  const text = readFileSync(join(ROOT, 'docs/events.md'), 'utf8')
  const match = /<!-- receiver: a test runs this block as written -->\n```js\n([\s\S]*?)```/.exec(text)
  assert.ok(match !== null, 'docs/events.md has the receiver block')
  return match[1]!
}

test('the ten-line receiver of docs/events.md runs as written: it prints each event once and refuses unsigned requests', async (t) => {
  const code = documentedReceiver()
  assert.ok(code.trim().split('\n').length <= 12, 'about ten lines')
  // Inside the project, so that `standardwebhooks` resolves from its node_modules as the text says.
  const dir = mkdtempSync(join(ROOT, '.receiver-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'receiver.mjs'), code)
  const port = await freePort()
  const child = spawn(process.execPath, [join(dir, 'receiver.mjs')], {
    env: { PATH: process.env.PATH, CHAT_WEBHOOK_SECRET: SECRET, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe']
  })
  t.after(() => { child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const url = `http://127.0.0.1:${port}/`
  await eventually(async () => fetch(url, { method: 'POST', body: '{}' }).then((reply) => reply.status === 400, () => false), 10_000, 'the receiver listens')

  const server = await startServer(t, { CHAT_WEBHOOK_URLS: url, CHAT_WEBHOOK_SECRET: SECRET, CHAT_WEBHOOK_EVENTS: 'message.created' })
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  await alice.request({ type: 'message', room: 'lobby', text: 'to the receiver' })
  await eventually(() => out.includes('message.created lobby'), 10_000, `the receiver printed the event: ${out}`)
  const line = out.split('\n').find((l) => l.startsWith('message.created'))!
  assert.equal(JSON.parse(line.slice('message.created lobby '.length)).text, 'to the receiver')
  assert.equal((await fetch(url, { method: 'POST', headers: { 'webhook-id': 'x', 'webhook-timestamp': '1', 'webhook-signature': 'v1,AAAA' }, body: '{}' })).status, 400)
})
