import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { WebSocket } from 'ws'
import { ChatClient, type ChatClientOptions, ChatError, type DisconnectInfo, type Message } from '../../src/client/index.ts'
import { type Frame, http } from '../helper.ts'

/** A client on `ws` (unless another WebSocket is given) with short reconnect delays, closed when the test ends. */
export function client (t: TestContext, options: ChatClientOptions): ChatClient {
  const chat = new ChatClient({ WebSocket, minReconnectDelayMs: 50, maxReconnectDelayMs: 500, ...options })
  t.after(() => chat.close())
  return chat
}

/** Connects each client and joins it to `room`, one after the other. */
export async function joinedTo (room: string, ...chats: ChatClient[]): Promise<void> {
  for (const chat of chats) {
    await chat.connect()
    await chat.join(room)
  }
}

/** What a client reports: its messages, states and disconnects, in order. */
export function record (chat: ChatClient) {
  const seen = { messages: [] as Message[], states: [] as string[], disconnects: [] as DisconnectInfo[] }
  chat.on('message', (message) => seen.messages.push(message))
  chat.on('state', (state) => seen.states.push(state))
  chat.on('disconnect', (info) => seen.disconnects.push(info))
  return seen
}

/**
 * `ws`'s WebSocket, recording every frame a client sends into `sent`: frames that have no
 * reply (typing, read) can only be counted on the way out.
 */
export function recordingWebSocket (sent: Frame[]): typeof WebSocket {
  return class extends WebSocket {
    override send (data: unknown, ...rest: unknown[]): void {
      if (typeof data === 'string') sent.push(JSON.parse(data) as Frame)
      ;(super.send as (...args: unknown[]) => void)(data, ...rest)
    }
  }
}

/** Every stored message of a room, ascending, read over REST page by page. */
export async function storedMessages (url: string, room: string): Promise<Message[]> {
  const all: Message[] = []
  let before: number | undefined
  for (let page = 0; page < 100; page++) {
    const query = before === undefined ? 'limit=100' : `limit=100&before=${before}`
    const { status, body } = await http(url, 'GET', `/rooms/${room}/messages?${query}`)
    assert.equal(status, 200)
    const messages = body.messages as Message[]
    if (messages.length === 0) break
    all.unshift(...messages)
    before = messages[0]!.seq
  }
  return all
}

/** A promise the test waits for, but not forever. */
export function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export const seqs = (messages: Message[]) => messages.map((message) => message.seq)
export const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

export async function rejectsWith (promise: Promise<unknown>, code: string): Promise<ChatError> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof ChatError, `expected a ChatError, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return err
  }
  assert.fail(`expected a rejection with ${code}`)
}
