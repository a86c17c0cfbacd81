import { createServer } from 'node:net'

/** Loopback ports for the servers the bench and the tests start. */

/** A free loopback TCP port. */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** Whether `port` on 127.0.0.1 can be listened on now. */
export function portIsFree (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.on('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A free port for a Redis Cluster node. Its cluster bus listens on the port + 10000, so the port
 * must be at most 55535 (redis-server refuses to start otherwise) and the bus port free as well;
 * a port from the ephemeral range (up to 60999 on Linux) is often neither.
 */
export async function clusterNodePort (): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = await freePort()
    if (port <= 55535 && await portIsFree(port + 10000)) return port
  }
  throw new Error('no free port whose cluster bus port (+10000) is free too')
}
