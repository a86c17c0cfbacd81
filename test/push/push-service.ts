import {
  createDecipheriv, createECDH, createHmac, createPublicKey, randomBytes, verify, type ECDH, type KeyObject
} from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** The JSON a browser's `PushSubscription.toJSON()` gives. */
export interface PushSubscriptionJSON {
  endpoint: string
  keys: { p256dh: string, auth: string }
}

/** An accepted push, decrypted. */
export interface Received {
  endpoint: string
  /** The name given to `subscription(name)`. */
  name?: string
  /** The decrypted payload as UTF-8 text. */
  payload: string
  json: () => unknown
  ttl: number
  urgency?: string
  vapid: { sub: string, aud: string, exp: number, key: string }
  at: number
}

export interface Rejection {
  endpoint: string
  reason: string
}

/** Every request that reached an endpoint, with the status it was answered. */
export interface Attempt {
  endpoint: string
  status: number
  at: number
}

export type ScriptedAnswer = number | { status: number, headers?: Record<string, string> }

export interface PushService {
  /** The origin, `http://127.0.0.1:<port>`: also the `aud` every VAPID JWT must carry. */
  url: string
  received: Received[]
  rejected: Rejection[]
  attempts: Attempt[]
  /** A new browser-like subscription with its own P-256 key pair and auth secret. */
  subscription: (name?: string) => PushSubscriptionJSON
  /**
   * Queues answers for the next requests to `endpoint` (or to any, with '*'), one per request,
   * in place of the checks' result; the requests are still checked and recorded.
   */
  answer: (endpoint: string, ...statuses: ScriptedAnswer[]) => void
  /** Delays the answers to `endpoint` (or '*') by `ms`; 0 stops delaying. Requests are recorded on arrival. */
  hang: (endpoint: string, ms: number) => void
  /** Resolves once `predicate(received)` holds; rejects after `timeoutMs` listing what arrived. */
  waitFor: (predicate: (received: Received[]) => boolean, timeoutMs?: number) => Promise<void>
  close: () => Promise<void>
}

interface Subscriber {
  name?: string
  ecdh: ECDH
  publicKey: Buffer
  auth: Buffer
}

interface Vapid { sub: string, aud: string, exp: number, key: string }

/** RFC 8030 §7.2: services must take 4096 bytes of body; real ones refuse more with 413. */
const MAX_BODY = 4096
const MAX_VAPID_LIFETIME_S = 24 * 60 * 60
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high'])
const BASE64URL = /^[A-Za-z0-9_-]+$/

class Refusal extends Error {
  constructor (readonly status: number, reason: string) { super(reason) }
}

function refuse (reason: string, status = 400): never {
  throw new Refusal(status, reason)
}

function hmac (key: Buffer, data: Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest()
}

function rawP256Key (encoded: string): { raw: Buffer, key: KeyObject } {
  const raw = BASE64URL.test(encoded) ? Buffer.from(encoded, 'base64url') : Buffer.alloc(0)
  if (raw.length !== 65 || raw[0] !== 0x04) refuse('VAPID k is not an uncompressed P-256 public key')
  try {
    const jwk = { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }
    return { raw, key: createPublicKey({ key: jwk, format: 'jwk' }) }
  } catch {
    refuse('VAPID k is not a point on P-256')
  }
}

function jsonPart (part: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {}
  refuse(`VAPID JWT ${what} is not a JSON object`)
}

/** RFC 8292: `vapid t=<JWT>, k=<key>`, an ES256 JWT signed by k, for this origin, for at most 24 h. */
function checkVapid (header: string | undefined, origin: string, subject: string | undefined): Vapid {
  if (header === undefined) refuse('missing Authorization')
  const match = /^vapid\s+(.*)$/i.exec(header.trim())
  if (match === null) refuse('Authorization scheme is not vapid')
  const params = new Map<string, string>()
  for (const param of match[1].split(',')) {
    const eq = param.indexOf('=')
    if (eq > 0) params.set(param.slice(0, eq).trim().toLowerCase(), param.slice(eq + 1).trim())
  }
  const token = params.get('t')
  const k = params.get('k')
  if (token === undefined || k === undefined) refuse('Authorization lacks t= or k=')
  const { key } = rawP256Key(k)

  const parts = token.split('.')
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) refuse('VAPID t is not a compact JWT')
  const head = jsonPart(parts[0], 'header')
  if (head.alg !== 'ES256') refuse('VAPID JWT alg is not ES256')
  if (head.typ !== undefined && String(head.typ).toUpperCase() !== 'JWT') refuse('VAPID JWT typ is not JWT')
  const signature = Buffer.from(parts[2], 'base64url')
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`)
  if (signature.length !== 64 || !verify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, signature)) {
    refuse('VAPID JWT signature does not verify with k')
  }

  const claims = jsonPart(parts[1], 'claims')
  const { aud, exp, sub } = claims
  if (aud !== origin) refuse(`VAPID aud ${JSON.stringify(aud)} is not ${origin}`)
  const now = Math.floor(Date.now() / 1000)
  if (typeof exp !== 'number' || !Number.isInteger(exp)) refuse('VAPID exp is not an integer')
  if (exp <= now) refuse('VAPID exp has passed')
  if (exp > now + MAX_VAPID_LIFETIME_S) refuse('VAPID exp is more than 24 h ahead')
  if (typeof sub !== 'string' || !/^(mailto:|https:)/.test(sub)) refuse('VAPID sub is not a mailto: or https: URI')
  if (subject !== undefined && sub !== subject) refuse(`VAPID sub ${sub} is not ${subject}`)
  return { sub, aud, exp, key: k }
}

/** RFC 8291 over RFC 8188 aes128gcm, a single record. */
function decrypt (body: Buffer, subscriber: Subscriber): Buffer {
  if (body.length < 21) refuse('decryption failed: body shorter than the aes128gcm header')
  const salt = body.subarray(0, 16)
  const rs = body.readUInt32BE(16)
  const idlen = body[20]
  const asPublic = body.subarray(21, 21 + idlen)
  const record = body.subarray(21 + idlen)
  if (idlen !== 65 || asPublic.length !== 65 || asPublic[0] !== 0x04) refuse('decryption failed: keyid is not a P-256 public key')
  if (rs < 18 || record.length > rs || record.length < 17) refuse('decryption failed: not a single record of size rs')
  try {
    const ecdhSecret = subscriber.ecdh.computeSecret(asPublic)
    const prkKey = hmac(subscriber.auth, ecdhSecret)
    const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), subscriber.publicKey, asPublic])
    const ikm = hmac(prkKey, Buffer.concat([keyInfo, Buffer.from([1])]))
    const prk = hmac(salt, ikm)
    const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16)
    const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12)
    const decipher = createDecipheriv('aes-128-gcm', cek, nonce)
    decipher.setAuthTag(record.subarray(record.length - 16))
    const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()])
    let end = padded.length - 1
    while (end >= 0 && padded[end] === 0) end--
    if (end < 0 || padded[end] !== 0x02) refuse('decryption failed: last record lacks the 0x02 delimiter')
    return padded.subarray(0, end)
  } catch (error) {
    if (error instanceof Refusal) throw error
    refuse('decryption failed')
  }
}

function header (req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value.join(',') : value
}

/** Starts a loopback RFC 8030 push service that checks VAPID and decrypts every push. */
export async function startPushService (options: { subject?: string } = {}): Promise<PushService> {
  const subscribers = new Map<string, Subscriber>()
  const scripted = new Map<string, ScriptedAnswer[]>()
  const hangs = new Map<string, number>()
  const timers = new Set<NodeJS.Timeout>()
  const sockets = new Set<Socket>()
  const received: Received[] = []
  const rejected: Rejection[] = []
  const attempts: Attempt[] = []
  let url = ''
  let messages = 0

  /** Runs every check; returns the push to record, or throws a Refusal. */
  function check (req: IncomingMessage, id: string, endpoint: string, body: Buffer, size: number): Received {
    const subscriber = subscribers.get(id)
    if (subscriber === undefined) refuse('no such subscription', 404)
    if (req.method !== 'POST') refuse(`method ${req.method ?? ''} is not POST`, 405)
    if (size > MAX_BODY) refuse(`body of ${size} bytes exceeds ${MAX_BODY}`, 413)
    const ttl = header(req, 'ttl')
    if (ttl === undefined) refuse('missing TTL')
    if (!/^\d+$/.test(ttl.trim())) refuse(`TTL ${ttl} is not a non-negative integer`)
    const urgency = header(req, 'urgency')
    if (urgency !== undefined && !URGENCIES.has(urgency)) refuse(`Urgency ${urgency} is not very-low, low, normal or high`)
    const topic = header(req, 'topic')
    if (topic !== undefined && (topic.length > 32 || !BASE64URL.test(topic))) refuse('Topic is not 1 to 32 base64url characters')
    if (header(req, 'content-encoding')?.trim().toLowerCase() !== 'aes128gcm') refuse('Content-Encoding is not aes128gcm')
    const vapid = checkVapid(header(req, 'authorization'), url, options.subject)
    const payload = decrypt(body, subscriber).toString('utf8')
    return {
      endpoint,
      ...(subscriber.name !== undefined && { name: subscriber.name }),
      payload,
      json: () => JSON.parse(payload) as unknown,
      ttl: Number(ttl.trim()),
      ...(urgency !== undefined && { urgency }),
      vapid,
      at: Date.now()
    }
  }

  function nextScripted (endpoint: string): ScriptedAnswer | undefined {
    return scripted.get(endpoint)?.shift() ?? scripted.get('*')?.shift()
  }

  function handle (req: IncomingMessage, res: ServerResponse, body: Buffer, size: number): void {
    const path = new URL(req.url ?? '/', url).pathname
    const id = /^\/push\/([^/]+)$/.exec(path)?.[1] ?? ''
    const endpoint = `${url}${path}`
    let status = 201
    let reason = ''
    let headers: Record<string, string> = {}
    let push: Received | undefined
    try {
      push = check(req, id, endpoint, body, size)
      headers = { location: `${url}/message/${++messages}` }
    } catch (error) {
      status = error instanceof Refusal ? error.status : 500
      reason = error instanceof Error ? error.message : String(error)
      rejected.push({ endpoint, reason })
    }
    const script = nextScripted(endpoint)
    if (script !== undefined) {
      status = typeof script === 'number' ? script : script.status
      headers = typeof script === 'number' ? {} : { ...script.headers }
      reason = `scripted ${status}`
    }
    attempts.push({ endpoint, status, at: Date.now() })
    if (push !== undefined && status === 201) received.push(push)

    const send = () => {
      if (res.destroyed) return
      res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8' })
      res.end(reason)
    }
    const delay = hangs.get(endpoint) ?? hangs.get('*') ?? 0
    if (delay <= 0) return send()
    const timer = setTimeout(() => { timers.delete(timer); send() }, delay)
    timers.add(timer)
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      // Past the limit only the size matters: a body that large is refused unread.
      if (size <= MAX_BODY) chunks.push(chunk)
    })
    req.on('end', () => handle(req, res, Buffer.concat(chunks), size))
    req.on('error', () => res.destroy())
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    received,
    rejected,
    attempts,
    subscription (name) {
      const ecdh = createECDH('prime256v1')
      const publicKey = ecdh.generateKeys()
      const auth = randomBytes(16)
      const id = randomBytes(12).toString('base64url')
      subscribers.set(id, { ...(name !== undefined && { name }), ecdh, publicKey, auth })
      return {
        endpoint: `${url}/push/${id}`,
        keys: { p256dh: publicKey.toString('base64url'), auth: auth.toString('base64url') }
      }
    },
    answer (endpoint, ...statuses) {
      scripted.set(endpoint, [...(scripted.get(endpoint) ?? []), ...statuses])
    },
    hang (endpoint, ms) {
      if (ms > 0) hangs.set(endpoint, ms)
      else hangs.delete(endpoint)
    },
    async waitFor (predicate, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs
      while (!predicate(received)) {
        if (Date.now() >= deadline) {
          const seen = received.map((push) => `${push.endpoint}: ${push.payload}`).join('\n  ') || '(nothing)'
          const refused = rejected.map((r) => `${r.endpoint}: ${r.reason}`).join('\n  ') || '(nothing)'
          throw new Error(`push service: condition not met within ${timeoutMs} ms\nreceived:\n  ${seen}\nrejected:\n  ${refused}`)
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    async close () {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closed
    }
  }
}
