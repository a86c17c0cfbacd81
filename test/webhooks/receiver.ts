import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { TestContext } from 'node:test'
import { Webhook } from 'standardwebhooks'
import { Compile } from 'typebox/compile'
import { serviceProtocol } from '../../src/features/protocol.ts'
import { eventSchema, type EventType } from '../../src/schemas/webhooks.ts'
import { eventually } from '../helper.ts'

/** A signing secret of the Standard Webhooks form (24 random-looking bytes). */
export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'

/** An event as a receiver sees it. */
export interface ReceivedEvent {
  id: string
  type: EventType
  time: string
  room: string
  data: any
}

/** How the receiver answers: a status, or `hang` (never answers). */
export type Behaviour = number | 'hang'

const checkers = Object.fromEntries(Object.entries(serviceProtocol.events).map(([type, definition]) => [type, Compile(eventSchema(type, definition))]))

/**
 * A real HTTP receiver on loopback. Every request is checked as a receiver would: a POST whose
 * signature `standardwebhooks` verifies with SECRET, whose body matches its type's schema.
 * `answer` decides the status (default 204); `stop()` closes the port (a receiver that is down)
 * and `start()` opens it again on the same port.
 */
export class Receiver {
  /** Every request, verified, in arrival order (duplicates included). */
  readonly requests: { event: ReceivedEvent, headers: Record<string, string>, answered: Behaviour }[] = []
  /** Events answered 2xx, in arrival order. */
  readonly delivered: ReceivedEvent[] = []
  answer: (event: ReceivedEvent) => Behaviour = () => 204
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()
  private readonly verifier = new Webhook(SECRET)
  port = 0

  get url (): string {
    return `http://127.0.0.1:${this.port}/hooks`
  }

  async start (): Promise<void> {
    const server = createServer((request, response) => { void this.handle(request, response) })
    server.on('connection', (socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.port = (server.address() as AddressInfo).port
    this.server = server
  }

  /** Closes the port and every connection, hung ones included. */
  async stop (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server === undefined) return
    for (const socket of this.sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  }

  /** The ids of the delivered events of a room, in arrival order. */
  roomIds (room: string): string[] {
    return this.delivered.filter((event) => event.room === room).map((event) => event.id)
  }

  /** Waits until `count` events (of the type, if given) were answered 2xx. */
  async waitFor (count: number, type?: EventType, timeoutMs = 20_000): Promise<ReceivedEvent[]> {
    const matching = () => this.delivered.filter((event) => type === undefined || event.type === type)
    await eventually(() => matching().length >= count, timeoutMs, `${count} ${type ?? 'events'} delivered (have ${matching().length})`)
    return matching()
  }

  private async handle (request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString()
    const headers = Object.fromEntries(Object.entries(request.headers).map(([key, value]) => [key, String(value)]))
    let event: ReceivedEvent
    try {
      assert.equal(request.method, 'POST')
      assert.match(headers['content-type'] ?? '', /^application\/json/)
      event = this.verifier.verify(body, headers) as ReceivedEvent
      assert.equal(headers['webhook-id'], event.id, 'webhook-id is the event id')
      const checker = checkers[event.type]
      assert.ok(checker !== undefined, `unknown type ${event.type}`)
      assert.ok(checker.Check(event), `${event.type} does not match its schema: ${body} ${JSON.stringify([...checker.Errors(event)].slice(0, 2))}`)
    } catch (err) {
      // A request no receiver could accept: the test fails on it, whatever else it checks.
      this.requests.push({ event: { id: 'invalid', type: 'room.deleted', time: '', room: '', data: { error: String(err), body } }, headers, answered: 400 })
      response.writeHead(400).end()
      return
    }
    const behaviour = this.answer(event)
    this.requests.push({ event, headers, answered: behaviour })
    if (behaviour === 'hang') return
    if (behaviour >= 200 && behaviour < 300) this.delivered.push(event)
    response.writeHead(behaviour).end()
  }

  /** No request so far was malformed or wrongly signed. */
  assertAllValid (): void {
    const invalid = this.requests.filter((request) => request.event.id === 'invalid')
    assert.deepEqual(invalid.map((request) => request.event.data), [], 'every request is signed and well formed')
  }
}

/** A started receiver, stopped when the test ends. */
export async function startReceiver (t: TestContext): Promise<Receiver> {
  const receiver = new Receiver()
  await receiver.start()
  t.after(() => receiver.stop())
  return receiver
}

/** The configuration that sends every event to these receivers. */
export const webhookConfig = (receivers: Receiver[], extra: Record<string, string | number> = {}) => ({
  CHAT_WEBHOOK_URLS: receivers.map((receiver) => receiver.url).join(','),
  CHAT_WEBHOOK_SECRET: SECRET,
  ...extra
})
