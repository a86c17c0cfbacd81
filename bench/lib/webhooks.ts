import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * The webhooks scenario's targets: the service without a URL, with one URL that answers 204 at
 * once, and with one that never answers. `ok-url` against `no-url` is the price of events out;
 * `hung-url` against `ok-url` is what a hung receiver costs chat.
 */
export const WEBHOOK_TARGETS = ['no-url', 'ok-url', 'hung-url'] as const
export type WebhookTarget = typeof WEBHOOK_TARGETS[number]

/** A secret of the Standard Webhooks form, for the benchmark only. */
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'

export interface Receiver { url: string, requests: () => number, stop: () => Promise<void> }

/**
 * A receiver on loopback. A hung one reads each request and never answers, so every attempt runs
 * into the 5 s timeout; otherwise each request is answered 204 once read.
 */
export async function startReceiver (hung: boolean): Promise<Receiver> {
  let requests = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((request, response) => {
    requests++
    request.resume()
    if (!hung) request.on('end', () => response.writeHead(204).end())
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    requests: () => requests,
    async stop () {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

/** The service's environment for a target: every event type recorded and sent to the receiver, or none. */
export function webhookEnv (target: WebhookTarget, receiver: Receiver | undefined): Record<string, string> {
  if (target === 'no-url' || receiver === undefined) return {}
  return { CHAT_WEBHOOK_URLS: receiver.url, CHAT_WEBHOOK_SECRET: SECRET }
}
