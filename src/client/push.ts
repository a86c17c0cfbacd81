import { ChatError, type ChatErrorCode } from './errors.ts'
import type { PushSubscriptionData } from './types.ts'

/** What `subscribePush` takes: the subscription's JSON, or the browser's `PushSubscription` itself. */
export type PushSubscriptionInput = PushSubscriptionData | { toJSON: () => unknown }

/** The part of `fetch` the key needs; the global one by default. */
export type FetchLike = (url: string) => Promise<{ status: number, json: () => Promise<unknown> }>

const STATUS_CODES: Record<number, ChatErrorCode> = { 401: 'unauthorized', 403: 'forbidden', 429: 'rate_limited' }

/**
 * The service's VAPID public key (`GET push/key`), the `applicationServerKey` of
 * `PushManager.subscribe`; undefined when the service has no Web Push (404). `baseUrl` is the
 * service's HTTP address: `http://localhost:3000/`, or `https://example.com/chat/` when it is
 * mounted under a prefix. Another failing answer rejects with a `ChatError`.
 */
export async function fetchPushKey (baseUrl: string | URL, fetchImpl?: FetchLike): Promise<string | undefined> {
  const base = new URL(baseUrl)
  // `…/chat` and `…/chat/` both name the prefix: the key is inside it.
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  const url = new URL('push/key', base).href
  // Called through globalThis: a browser's fetch refuses to run detached from its window.
  const answer = await (fetchImpl ?? ((target: string) => globalThis.fetch(target)))(url)
  if (answer.status === 404) return undefined
  if (answer.status !== 200) throw new ChatError(`GET ${url} answered ${answer.status}`, STATUS_CODES[answer.status] ?? 'internal')
  const body = await answer.json() as { key?: unknown } | null
  if (typeof body?.key !== 'string') throw new ChatError(`GET ${url} answered without a key`, 'internal')
  return body.key
}

/** The service's HTTP address beside its WebSocket URL: `ws://host/chat/ws` → `http://host/chat/`. */
export function httpBase (socketUrl: string): string {
  const url = new URL('./', socketUrl)
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:'
  url.search = ''
  url.hash = ''
  return url.href
}

/** The `{endpoint, keys: {p256dh, auth}}` of a subscription, without the fields the server does not keep. */
export function subscriptionData (input: PushSubscriptionInput): PushSubscriptionData {
  const json: unknown = 'toJSON' in input && typeof input.toJSON === 'function' ? input.toJSON() : input
  const { endpoint, keys } = (json ?? {}) as { endpoint?: unknown, keys?: { p256dh?: unknown, auth?: unknown } | null }
  if (typeof endpoint !== 'string' || typeof keys?.p256dh !== 'string' || typeof keys.auth !== 'string') {
    throw new ChatError('a push subscription is {endpoint, keys: {p256dh, auth}}, as PushSubscription.toJSON() gives it', 'bad_request')
  }
  return { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } }
}
