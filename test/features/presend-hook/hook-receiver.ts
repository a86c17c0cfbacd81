import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { TestContext } from 'node:test'
import { Webhook } from 'standardwebhooks'
import { Compile } from 'typebox/compile'
import { PresendRequest } from '../../../src/features/presend-hook/schemas.ts'
import { SECRET } from '../../webhooks/receiver.ts'

/** How the hook answers one request: a JSON body with 200, another status, a body that is not JSON, or never. */
export type HookReply = { json: unknown } | { status: number } | 'not-json' | 'hang'

const checkRequest = Compile(PresendRequest)

/**
 * A real pre-send hook on loopback: each request's signature is verified with `standardwebhooks`
 * and SECRET, and its body against PresendRequest, before `answer` decides the reply.
 */
export interface HookReceiver {
  url: string
  requests: PresendRequest[]
  answer: (request: PresendRequest) => HookReply
}

export async function startHookReceiver (t: TestContext): Promise<HookReceiver> {
  const verifier = new Webhook(SECRET)
  const sockets = new Set<Socket>()
  const receiver: HookReceiver = { url: '', requests: [], answer: () => ({ json: { action: 'allow' } }) }
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString()
    const headers = Object.fromEntries(Object.entries(request.headers).map(([key, value]) => [key, String(value)]))
    const parsed = verifier.verify(body, headers) as unknown
    assert.ok(checkRequest.Check(parsed), `a pre-send request: ${body}`)
    receiver.requests.push(parsed)
    const reply = receiver.answer(parsed)
    if (reply === 'hang') return
    if (reply === 'not-json') return response.writeHead(200, { 'content-type': 'application/json' }).end('{nope')
    if ('status' in reply) return response.writeHead(reply.status).end()
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply.json))
  }
  const server: Server = createServer((request, response) => {
    handle(request, response).catch((err: unknown) => {
      response.writeHead(400).end(String(err))
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/check`
  t.after(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return receiver
}
