import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** The webhooks scenario's targets: the service without a URL, and with one URL that never answers. */
export const WEBHOOK_TARGETS = ['no-url', 'hung-url'] as const
export type WebhookTarget = typeof WEBHOOK_TARGETS[number]

/** A secret of the Standard Webhooks form, for the benchmark only. */
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'

export interface HungReceiver { url: string, requests: () => number, stop: () => Promise<void> }

/** A receiver on loopback that reads each request and never answers: every attempt runs into the 5 s timeout. */
export async function startHungReceiver (): Promise<HungReceiver> {
  let requests = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((request) => {
    requests++
    request.resume()
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

/** The service's environment for a target: every event type recorded and sent to the hung URL, or none. */
export function webhookEnv (target: WebhookTarget, receiver: HungReceiver | undefined): Record<string, string> {
  if (target === 'no-url' || receiver === undefined) return {}
  return { CHAT_WEBHOOK_URLS: receiver.url, CHAT_WEBHOOK_SECRET: SECRET }
}
