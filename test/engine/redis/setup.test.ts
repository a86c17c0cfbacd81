import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import { test, type TestContext } from 'node:test'
import { exitOf, freePort, REFUSAL_BOUND_MS, spawnServer } from '../../helper.ts'
import { startRedisTarget } from '../../redis-layouts.ts'

async function refused (t: TestContext, env: Record<string, string>, message: RegExp): Promise<void> {
  const server = await spawnServer(t, { CHAT_DB: ':memory:', ...env }, false)
  const exit = await exitOf(server, REFUSAL_BOUND_MS)
  assert.notEqual(exit.code, 0, server.output())
  assert.notEqual(exit.code, null, 'exited by itself, not by a signal')
  assert.match(server.output(), message)
  assert.doesNotMatch(server.output(), /Server listening/)
}

test('CHAT_REDIS_CLUSTER=true on a single Redis refuses the start, naming the setting', async (t) => {
  const redis = await startRedisTarget(t, 'standalone')
  if (redis === undefined) return
  await refused(t, { REDIS_URL: redis.url, CHAT_REDIS_CLUSTER: 'true' }, /CHAT_REDIS_CLUSTER=true but .* is not a Redis Cluster node/)
})

test('a Redis Cluster node in REDIS_URL without CHAT_REDIS_CLUSTER refuses the start', async (t) => {
  const redis = await startRedisTarget(t, 'cluster')
  if (redis === undefined) return
  await refused(t, { REDIS_URL: redis.url }, /REDIS_URL points at a node of a Redis Cluster .*; set CHAT_REDIS_CLUSTER=true/)
})

/**
 * A server that answers like a Redis 6 cluster node: only Redis 7 is installed here, and the
 * refusal of an older cluster is decided on what INFO says. Every other command gets +OK.
 */
async function redis6ClusterNode (t: TestContext): Promise<string> {
  const info = '# Server\r\nredis_version:6.2.14\r\nredis_mode:cluster\r\n# Cluster\r\ncluster_enabled:1\r\n# Persistence\r\nloading:0\r\n'
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    let pending = ''
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1')
      // Commands come as RESP arrays of bulk strings: *N, then $len and the word, N times.
      for (;;) {
        const lines = pending.split('\r\n')
        const count = Number(lines[0]?.slice(1))
        if (!(lines[0]?.startsWith('*') && lines.length > count * 2 + 1)) return
        const name = lines[2]!.toUpperCase()
        pending = lines.slice(count * 2 + 1).join('\r\n')
        socket.write(name === 'INFO' ? `$${Buffer.byteLength(info)}\r\n${info}\r\n` : name === 'PING' ? '+PONG\r\n' : '+OK\r\n')
      }
    })
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  return `redis://127.0.0.1:${port}`
}

test('a Redis Cluster older than 7 refuses the start with a clear message', async (t) => {
  const url = await redis6ClusterNode(t)
  await refused(t, { REDIS_URL: url, CHAT_REDIS_CLUSTER: 'true' }, /CHAT_REDIS_CLUSTER=true needs Redis 7 or later .* runs 6\.2\.14/)
})
