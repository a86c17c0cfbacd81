import { createConnection, createServer, type Socket } from 'node:net'
import type { TestContext } from 'node:test'

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  port: number
  /**
   * From now on, the connections open at this moment pass nothing and stay open: a link that
   * died without a FIN or RST. `toClient` stalls only what the server sends, so requests
   * still arrive but their answers are lost. Later connections pass as usual.
   */
  stall: (direction?: 'both' | 'toClient') => void
  /** Resets the connections open at this moment, as a dropped network does; later ones pass. */
  cut: () => void
  /** Connections accepted so far. */
  accepted: () => number
  /** Stops accepting and destroys every socket (also done when the test ends). */
  close: () => void
}

/** A loopback TCP proxy to `targetPort` that can stall its links; closed when the test ends. */
export async function startTcpProxy (t: TestContext, targetPort: number): Promise<TcpProxy> {
  const links = new Set<{ client: Socket, upstream: Socket, toServer: boolean, toClient: boolean }>()
  const sockets = new Set<Socket>()
  let accepted = 0
  const server = createServer((client) => {
    accepted++
    sockets.add(client)
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort })
    sockets.add(upstream)
    const link = { client, upstream, toServer: true, toClient: true }
    links.add(link)
    client.on('data', (chunk) => { if (link.toServer) upstream.write(chunk) })
    upstream.on('data', (chunk) => { if (link.toClient) client.write(chunk) })
    const end = () => {
      links.delete(link)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end)
    upstream.on('close', end)
    client.on('error', end)
    upstream.on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  // Stops accepting and destroys every socket it ever made; nothing is waited for, so a
  // client still reconnecting while the test ends cannot hold the proxy open.
  const close = () => {
    server.close()
    for (const socket of sockets) socket.destroy()
  }
  t.after(close)
  const { port } = server.address() as { port: number }
  return {
    port,
    stall: (direction = 'both') => {
      for (const link of links) {
        link.toClient = false
        if (direction === 'both') link.toServer = false
      }
    },
    cut: () => {
      for (const link of links) {
        link.client.resetAndDestroy()
        link.upstream.resetAndDestroy()
      }
    },
    accepted: () => accepted,
    close
  }
}
