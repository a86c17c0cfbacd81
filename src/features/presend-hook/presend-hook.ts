import { randomUUID } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { Compile } from 'typebox/compile'
import { Pool } from 'undici'
import { Refused } from '../../engine/extension.ts'
import type { TextInput } from '../../hub/messages.ts'
import type { EngineLog } from '../../shared/log.ts'
import { PresendAnswer, type PresendRequest } from './schemas.ts'

/** What became of one check, for the metrics. */
export type PresendOutcome = 'allowed' | 'replaced' | 'rejected' | 'failed_open' | 'failed_closed'

export interface PresendHookOptions {
  url: string
  /** CHAT_WEBHOOK_SECRET: the requests are signed as webhooks are (Standard Webhooks). */
  secret: string
  timeoutMs: number
  /** CHAT_PRESEND_FAIL=closed: no valid answer in time refuses the text. */
  failClosed: boolean
  /** CHAT_MAX_TEXT: a replacement longer than this is not a valid answer. */
  maxText: number
  log: EngineLog
  record: (outcome: PresendOutcome, seconds: number) => void
}

/**
 * Requests in flight at once. Each waits at most timeoutMs, so a hook that hangs holds
 * connections for that long: enough of them that messages of other rooms are not queued behind
 * the ones waiting (the per-room lanes of MessageService keep one room's order).
 */
const CONNECTIONS = 256
/** A failing hook is logged at most this often, with how many checks failed meanwhile. */
const LOG_EVERY_MS = 10_000

const checkAnswer = Compile(PresendAnswer)

/**
 * The pre-send hook: asks CHAT_PRESEND_URL whether to store each user's text (a new message or
 * an edit) as it is, replaced, or not at all. A 200 answer that fits PresendAnswer decides;
 * anything else in time (another status, a bad body, a timeout, a refused connection) is no
 * answer: the text is stored (fail open) or refused (fail closed).
 */
export class PresendHook {
  private readonly pool: Pool
  private readonly path: string
  private readonly signer: Webhook
  private failures = 0
  private lastLog = 0

  constructor (private readonly options: PresendHookOptions) {
    const url = new URL(options.url)
    this.path = url.pathname + url.search
    this.signer = new Webhook(options.secret)
    // undici's request API on a keep-alive pool, as webhook deliveries use: cheaper per call than fetch.
    this.pool = new Pool(url.origin, {
      connections: CONNECTIONS,
      connect: { timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs
    })
  }

  async check (input: TextInput): Promise<string | undefined> {
    const started = performance.now()
    const request: PresendRequest = { room: input.room, user: input.user, text: input.text }
    if (input.replyTo !== undefined) request.replyTo = input.replyTo
    if (input.edit !== undefined) request.edit = input.edit
    const outcome = await this.ask(JSON.stringify(request))
    const seconds = (performance.now() - started) / 1000
    if (typeof outcome === 'string') return this.noAnswer(outcome, input, seconds)
    switch (outcome.action) {
      case 'allow':
        this.options.record('allowed', seconds)
        return undefined
      case 'replace':
        this.options.record('replaced', seconds)
        return outcome.text
      case 'reject':
        this.options.record('rejected', seconds)
        throw new Refused('forbidden', outcome.reason === undefined || outcome.reason === '' ? 'the message was refused by moderation' : outcome.reason)
    }
  }

  async close (): Promise<void> {
    await this.pool.close()
  }

  /** The hook's answer, or why there is none. */
  private async ask (body: string): Promise<PresendAnswer | string> {
    const id = `msg_${randomUUID()}`
    const at = new Date()
    try {
      const reply = await this.pool.request({
        method: 'POST',
        path: this.path,
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': this.signer.sign(id, at, body)
        },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs)
      })
      const text = await reply.body.text()
      if (reply.statusCode !== 200) return `answered ${reply.statusCode}`
      let answer: unknown
      try {
        answer = JSON.parse(text)
      } catch {
        return 'answered 200 with a body that is not JSON'
      }
      if (!checkAnswer.Check(answer)) return `answered 200 with ${text.slice(0, 200)}, which is not {action, text?, reason?}`
      if (answer.action === 'replace' && (answer.text === undefined || answer.text.length > this.options.maxText)) {
        return `answered replace without a text of 1 to ${this.options.maxText} characters`
      }
      return answer
    } catch (err) {
      const name = (err as Error).name
      return name === 'TimeoutError' || name === 'AbortError' || name === 'HeadersTimeoutError' || name === 'BodyTimeoutError'
        ? `no answer within ${this.options.timeoutMs} ms`
        : `could not be asked: ${(err as Error).message}`
    }
  }

  private noAnswer (why: string, input: TextInput, seconds: number): undefined {
    const closed = this.options.failClosed
    this.options.record(closed ? 'failed_closed' : 'failed_open', seconds)
    this.failures++
    const now = Date.now()
    if (now - this.lastLog >= LOG_EVERY_MS) {
      this.options.log.warn({ url: this.options.url, why, room: input.room, failures: this.failures },
        closed ? 'the pre-send hook gave no valid answer: texts are refused' : 'the pre-send hook gave no valid answer: texts are stored unchecked')
      this.lastLog = now
      this.failures = 0
    }
    if (closed) throw new Refused('forbidden', 'the moderation check did not answer, so the message was not sent; try again later')
    return undefined
  }
}
