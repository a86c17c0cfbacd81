import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { eventually, type Frame, freePort, http, spawnServer, tempDir, TestClient } from './helper.ts'
import { requireCommand } from './redis-helper.ts'
import { layoutTest } from './redis-layouts.ts'

interface Balancer { url: string, wsUrl: string, output: () => string }

/**
 * nginx in front of the given nodes, as the deployment runs it: round robin, WebSocket upgrade
 * headers, and the next node tried when one refuses. Each response names its node in
 * X-Upstream. Resolves undefined (test skipped) without nginx, unless REQUIRE_NGINX=1.
 */
async function startNginx (t: TestContext, upstreams: string[]): Promise<Balancer | undefined> {
  if (!requireCommand(t, 'nginx', 'REQUIRE_NGINX', 'apt-get install nginx')) return undefined
  const dir = tempDir(t)
  const port = await freePort()
  const config = `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  upstream chat {
${upstreams.map((address) => `    server ${address} max_fails=1 fail_timeout=30s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://chat;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_read_timeout 60s;
      proxy_buffering off;
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, config)
  const child: ChildProcess = spawn('nginx', ['-c', conf, '-p', dir + '/', '-e', join(dir, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    process.removeListener('exit', killOnExit)
  })
  const url = `http://127.0.0.1:${port}`
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${output}`)
    return (await http(url, 'GET', '/healthz').catch(() => ({ status: 0 }))).status === 200
  }, 10_000, 'nginx start')
  return { url, wsUrl: `ws://127.0.0.1:${port}/ws`, output: () => output }
}

/** A client through the balancer, with the node that serves it. */
async function connectThrough (t: TestContext, balancer: Balancer, user: string) {
  const client = new TestClient(`${balancer.wsUrl}?user=${user}`)
  t.after(() => client.ws.terminate())
  const node = new Promise<string>((resolve) => {
    client.ws.once('upgrade', (response) => resolve(String(response.headers['x-upstream'])))
  })
  await client.next('welcome')
  return { client, node: await node }
}

layoutTest('clients on two nodes behind nginx chat with each other through Redis', async (t, redis) => {
  const env = { ...redis.env, CHAT_DB: ':memory:' }
  const nodes = await Promise.all([spawnServer(t, env), spawnServer(t, env)])
  const addresses = nodes.map((node) => new URL(node.url).host)
  const balancer = await startNginx(t, addresses)
  if (balancer === undefined) return

  // Round robin: connect until there is a client on each node.
  const alice = await connectThrough(t, balancer, 'alice')
  let bob = await connectThrough(t, balancer, 'bob')
  for (let attempt = 0; attempt < 5 && bob.node === alice.node; attempt++) {
    bob.client.close()
    bob = await connectThrough(t, balancer, 'bob')
  }
  assert.notEqual(bob.node, alice.node, 'alice and bob are on different nodes')
  assert.deepEqual([alice.node, bob.node].sort(), [...addresses].sort())

  await alice.client.join('lobby')
  assert.deepEqual([...(await bob.client.join('lobby')).members].sort(), ['alice', 'bob'])
  await alice.client.next((frame: Frame) => frame.type === 'presence' && frame.user === 'bob')
  const ack = await alice.client.request({ type: 'message', room: 'lobby', text: 'hi bob' })
  const received = await bob.client.next('message')
  assert.deepEqual([received.seq, received.id, received.user, received.text], [ack.seq, ack.id, 'alice', 'hi bob'])
  const answer = await bob.client.request({ type: 'message', room: 'lobby', text: 'hi alice' })
  assert.equal(answer.seq, ack.seq + 1)
  await alice.client.next((frame: Frame) => frame.type === 'message' && frame.text === 'hi alice')

  const online = await http(balancer.url, 'GET', '/rooms/lobby/online')
  assert.deepEqual(online.body.users.map((u: { user: string }) => u.user).sort(), ['alice', 'bob'])
  assert.equal((await http(balancer.url, 'GET', '/readyz')).status, 200)

  // Bob's node shuts down: bob is told (1001), reconnects through nginx to the node that is
  // left, and catches up on what alice sent meanwhile.
  const bobsNode = nodes[addresses.indexOf(bob.node)]!
  bobsNode.child.kill('SIGTERM')
  assert.equal((await bob.client.closed).code, 1001)
  assert.equal((await bobsNode.exited).code, 0)
  await alice.client.next((frame: Frame) => frame.type === 'presence' && frame.event === 'leave' && frame.user === 'bob')
  const missed = await alice.client.request({ type: 'message', room: 'lobby', text: 'while you were away' })
  const back = await connectThrough(t, balancer, 'bob')
  assert.equal(back.node, alice.node, 'nginx sends bob to the node that is up')
  const rejoined = await back.client.join('lobby', { since: answer.seq })
  assert.equal(rejoined.recovered, true)
  const caughtUp = await back.client.next('message')
  assert.deepEqual([caughtUp.seq, caughtUp.text], [missed.seq, 'while you were away'])
  const history = await http(balancer.url, 'GET', '/rooms/lobby/messages')
  assert.deepEqual(history.body.messages.map((m: Frame) => m.text), ['hi bob', 'hi alice', 'while you were away'])
})
