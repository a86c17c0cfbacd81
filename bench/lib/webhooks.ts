import { startSink } from './sink.ts'

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
  const sink = await startSink(hung ? 'hang' : 204)
  return { url: `${sink.origin}/hooks`, requests: sink.requests, stop: sink.stop }
}

/** The service's environment for a target: every event type recorded and sent to the receiver, or none. */
export function webhookEnv (target: WebhookTarget, receiver: Receiver | undefined): Record<string, string> {
  if (target === 'no-url' || receiver === undefined) return {}
  return { CHAT_WEBHOOK_URLS: receiver.url, CHAT_WEBHOOK_SECRET: SECRET }
}
