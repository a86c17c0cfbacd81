import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface Sink { origin: string, requests: () => number, stop: () => Promise<void> }

/**
 * An HTTP receiver on loopback that counts requests and answers each with `status` once it has
 * read it, or never (`hang`), for webhook receivers and push services the benchmark needs.
 */
export async function startSink (answer: number | 'hang'): Promise<Sink> {
  let requests = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((request, response) => {
    requests++
    request.resume()
    if (answer !== 'hang') request.on('end', () => response.writeHead(answer).end())
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    requests: () => requests,
    async stop () {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
