import { createECDH } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'

const PositiveInt = (def: number, description: string, minimum = 1) =>
  Type.Integer({ minimum, default: def, description })

/**
 * Every environment variable the service reads, with its default. The table in the README
 * mirrors this schema; `fastify-chat --help` prints it, and the plugin's options are these names in
 * camelCase (embedding.ts).
 */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'listen port' }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'listen address' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino level' }
  ),
  NODE_ENV: Type.String({ default: 'development', description: '`production` requires the secrets' }),
  CHAT_DB: Type.String({ minLength: 1, default: './data/chat.sqlite', description: 'SQLite file; `:memory:` for ephemeral' }),
  CHAT_DATABASE_URL: Type.Optional(Type.String({
    pattern: '^postgres(ql)?://',
    description: 'postgres:// URL: history, rooms and every feature\'s data in PostgreSQL (with REDIS_URL for several nodes)'
  })),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'redis:// URL of the Redis engine' })),
  CHAT_REDIS_CLUSTER: Type.Boolean({ default: false, description: 'REDIS_URL names a node of a Redis Cluster (7 or later)' }),
  REDIS_SENTINELS: Type.Optional(Type.String({
    pattern: '^\\s*[^\\s,:]+:\\d+\\s*(,\\s*[^\\s,:]+:\\d+\\s*)*$',
    description: 'comma-separated host:port of Redis Sentinels: the Redis engine on the primary they monitor'
  })),
  REDIS_SENTINEL_NAME: Type.Optional(Type.String({ minLength: 1, description: 'the name the sentinels monitor the primary under' })),
  CHAT_REDIS_ACK_REPLICAS: Type.Integer({
    minimum: 0, maximum: 16, default: 0, description: 'Redis engine: acknowledge a message only once this many replicas hold it (WAIT); 0: once the primary does'
  }),
  CHAT_JWT_SECRET: Type.Optional(Type.String({ minLength: 1, description: 'HS256 secret for WS JWTs' })),
  CHAT_JWT_PUBLIC_KEY: Type.Optional(Type.String({ minLength: 1, description: 'PEM public key (RS256/ES256) for WS JWTs' })),
  CHAT_ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 1, description: 'bearer token for /rooms' })),
  CHAT_ALLOWED_ORIGINS: Type.Optional(Type.String({ description: 'comma-separated allowed Origins' })),
  CHAT_HEARTBEAT_MS: PositiveInt(30000, 'server ping interval', 10),
  CHAT_MAX_PAYLOAD: PositiveInt(16384, 'largest inbound WS frame in bytes', 16),
  CHAT_MAX_TEXT: PositiveInt(4000, 'longest message text in characters'),
  CHAT_MSG_RATE: PositiveInt(20, 'inbound WS frames per second per connection'),
  CHAT_SEND_BUFFER: PositiveInt(1048576, 'outbound bytes buffered per connection before 1013'),
  CHAT_RATE_LIMIT: Type.Integer({ minimum: 0, default: 600, description: 'REST requests and WS upgrades per minute per IP; 0 = off' }),
  CHAT_AUTO_CREATE_ROOMS: Type.Boolean({ default: true, description: 'joining an unknown room creates it' }),
  CHAT_HISTORY_LIMIT: Type.Integer({ minimum: 0, default: 1000, description: 'messages kept per room by default; 0: all of them (SQLite; refused on Redis alone)' }),
  CHAT_RETENTION_DAYS: Type.Optional(Type.Number({
    exclusiveMinimum: 0, maximum: 36_500, description: 'messages older than this many days are removed (fractions allowed); unset: kept (SQLite; refused on Redis alone)'
  })),
  CHAT_SHUTDOWN_MS: PositiveInt(10000, 'grace period for shutdown'),
  CHAT_MAX_ROOMS_PER_CONNECTION: PositiveInt(100, 'rooms one connection may join'),
  CHAT_MAX_CONNECTIONS_PER_USER: PositiveInt(20, 'simultaneous connections of one user'),
  CHAT_TRUST_PROXY: Type.Optional(Type.String({
    pattern: '^(true|false|\\d+|[0-9A-Fa-f:./]+(\\s*,\\s*[0-9A-Fa-f:./]+)*)$',
    description: 'which proxies to trust for the client IP: true, a hop count, or comma-separated addresses/CIDRs'
  })),
  CHAT_WEBHOOK_URLS: Type.Optional(Type.String({ description: 'comma-separated http(s) URLs that receive every event' })),
  CHAT_WEBHOOK_SECRET: Type.Optional(Type.String({ pattern: '^whsec_', description: 'signing secret whsec_<base64>; required with URLs' })),
  CHAT_WEBHOOK_EVENTS: Type.Optional(Type.String({ description: 'comma-separated event types to send; all when unset' })),
  CHAT_WEBHOOK_MAX_ATTEMPTS: PositiveInt(10, 'attempts per event and URL before it is parked'),
  CHAT_BLOCKED_WORDS: Type.Optional(Type.String({ description: 'comma-separated words (case-insensitive, whole words) that refuse a message or an edit' })),
  CHAT_PRESEND_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'http(s) URL asked to allow, replace or reject each message and edit before it is stored' })),
  CHAT_PRESEND_TIMEOUT_MS: PositiveInt(1500, 'how long a message waits for the pre-send hook\'s answer', 10),
  CHAT_PRESEND_FAIL: Type.Union([Type.Literal('open'), Type.Literal('closed')], {
    default: 'open', description: 'no valid answer in time: open stores the message, closed refuses it'
  }),
  CHAT_VAPID_PUBLIC_KEY: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]+$', description: 'Web Push: the VAPID public key (URL-safe base64, as `npx web-push generate-vapid-keys` prints)' })),
  CHAT_VAPID_PRIVATE_KEY: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]+$', description: 'Web Push: the VAPID private key (URL-safe base64)' })),
  CHAT_VAPID_SUBJECT: Type.Optional(Type.String({ pattern: '^(mailto:|https://)', description: 'Web Push: a mailto: or https: URL push services may contact' })),
  CHAT_PUSH_ALLOWED_HOSTS: Type.Optional(Type.String({ description: 'comma-separated host names or addresses a push endpoint may have even though private or loopback (http allowed too)' })),
  CHAT_PUSH_COALESCE_MS: PositiveInt(10000, 'at most one notification per user and room this often (ms)')
})

type RawConfig = Static<typeof ConfigSchema>

/** The words of CHAT_BLOCKED_WORDS: trimmed, lower-cased, once each. */
export function blockedWordsOf (list: string): string[] {
  return [...new Set(list.split(',').map((word) => word.trim().toLowerCase()).filter((word) => word !== ''))]
}

/** The sentinels of REDIS_SENTINELS, parsed. */
export function sentinelsOf (list: string): { host: string, port: number }[] {
  return list.split(',').map((entry) => {
    const text = entry.trim()
    const colon = text.lastIndexOf(':')
    return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) }
  })
}

/** Events out, from the CHAT_WEBHOOK_ variables; absent when no URL is set. */
export interface WebhookConfig {
  /** Each URL as parsed (`URL.href`), once. */
  urls: string[]
  secret: string
  /**
   * The event types to record and send: the names CHAT_WEBHOOK_EVENTS lists, checked against the
   * protocol's event types (and every one of them when it is unset) when the app is built.
   */
  events: ReadonlySet<string>
  maxAttempts: number
}

export interface Config extends Omit<RawConfig, 'CHAT_ALLOWED_ORIGINS' | 'CHAT_TRUST_PROXY'> {
  /** Set when CHAT_WEBHOOK_URLS names at least one URL. */
  webhooks?: WebhookConfig
  /** Fastify's trustProxy, from CHAT_TRUST_PROXY: false unless set. */
  trustProxy: boolean | number | string[]
  /** Parsed `CHAT_ALLOWED_ORIGINS`, or undefined when every origin is allowed. */
  allowedOrigins?: Set<string>
  /** True when neither JWT secret nor public key is set, nor an app decides: `?user=` names the user. */
  devMode: boolean
  /** True when the app embedding the service decides who connects (the plugin's `authenticate`). */
  appAuth: boolean
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const validator = Compile(ConfigSchema)
const keys = Object.keys(ConfigSchema.properties) as (keyof RawConfig)[]

function expectedForm (key: keyof RawConfig): string {
  const schema = ConfigSchema.properties[key] as unknown as Record<string, unknown>
  if (key === 'LOG_LEVEL') return 'one of fatal, error, warn, info, debug, trace, silent'
  if (key === 'CHAT_PRESEND_FAIL') return 'open or closed'
  if (schema.type === 'integer') {
    const max = schema.maximum === undefined ? '' : ` and at most ${String(schema.maximum)}`
    return `an integer of at least ${String(schema.minimum)}${max}`
  }
  if (schema.type === 'number') return `a number above ${String(schema.exclusiveMinimum)} and at most ${String(schema.maximum)}`
  if (schema.type === 'boolean') return 'true or false'
  if (key === 'CHAT_WEBHOOK_SECRET') return 'whsec_ followed by the base64 of the key'
  if (schema.pattern) return `a string matching ${String(schema.pattern)}`
  return 'a non-empty string'
}

function coerce (key: keyof RawConfig, raw: string): unknown {
  const schema = ConfigSchema.properties[key] as unknown as Record<string, unknown>
  const text = raw.trim()
  if (schema.type === 'integer') return /^-?\d+$/.test(text) ? Number(text) : raw
  if (schema.type === 'number') return /^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(text) ? Number(text) : raw
  if (schema.type === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(text)) return true
    if (/^(false|0|no|off)$/i.test(text)) return false
    return raw
  }
  return text
}

function parseOrigins (list: string): Set<string> {
  const origins = new Set<string>()
  for (const entry of list.split(',')) {
    const origin = entry.trim()
    if (origin === '') continue
    let url: URL
    try {
      url = new URL(origin)
    } catch {
      throw new ConfigError(`CHAT_ALLOWED_ORIGINS: "${origin}" is not an origin; expected a comma-separated list such as https://chat.example.com,http://localhost:5173`)
    }
    if (url.origin === 'null' || url.origin !== origin.replace(/\/$/, '')) {
      throw new ConfigError(`CHAT_ALLOWED_ORIGINS: "${origin}" is not an origin (scheme://host[:port], no path); expected a comma-separated list such as https://chat.example.com`)
    }
    origins.add(url.origin)
  }
  return origins
}

function parseTrustProxy (value: string | undefined): boolean | number | string[] {
  if (value === undefined || value === 'false') return false
  if (value === 'true') return true
  if (/^\d+$/.test(value)) return Number(value)
  return value.split(',').map((entry) => entry.trim())
}

/** Comma-separated http(s) URLs, each once. */
function parseWebhookUrls (list: string): string[] {
  const urls = new Set<string>()
  for (const entry of list.split(',')) {
    const text = entry.trim()
    if (text === '') continue
    let url: URL | undefined
    try {
      url = new URL(text)
    } catch {
      url = undefined
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new ConfigError(`CHAT_WEBHOOK_URLS: "${text}" is not an http(s) URL; expected a comma-separated list such as https://hooks.example.com/chat`)
    }
    urls.add(url.href)
  }
  return [...urls]
}

/** The names CHAT_WEBHOOK_EVENTS lists; empty when it is unset (every event type). */
function parseWebhookEvents (list: string | undefined): Set<string> {
  return new Set((list ?? '').split(',').map((name) => name.trim()).filter((name) => name !== ''))
}

/**
 * The event types to record: those CHAT_WEBHOOK_EVENTS names, each one a type of the service
 * (`known`), or every type when it names none.
 */
export function resolveWebhookEvents (config: Config, known: string[]): Config {
  if (config.webhooks === undefined) return config
  const names = config.webhooks.events
  for (const name of names) {
    if (!known.includes(name)) {
      throw new ConfigError(`CHAT_WEBHOOK_EVENTS: unknown event type "${name}"; expected a comma-separated list of ${known.join(', ')}`)
    }
  }
  return { ...config, webhooks: { ...config.webhooks, events: names.size === 0 ? new Set(known) : names } }
}

/**
 * Web Push needs its three VAPID variables together, and a key pair that belongs together: the
 * public key is what browsers subscribe with, so a mismatch would only show as every push refused.
 */
function checkVapid (raw: RawConfig): void {
  const names = ['CHAT_VAPID_PUBLIC_KEY', 'CHAT_VAPID_PRIVATE_KEY', 'CHAT_VAPID_SUBJECT'] as const
  const missing = names.filter((name) => raw[name] === undefined)
  if (missing.length === 0 || missing.length === names.length) {
    if (missing.length === 0) checkVapidKeys(raw.CHAT_VAPID_PUBLIC_KEY!, raw.CHAT_VAPID_PRIVATE_KEY!)
    return
  }
  throw new ConfigError(`${missing[0]}: Web Push needs CHAT_VAPID_PUBLIC_KEY, CHAT_VAPID_PRIVATE_KEY and CHAT_VAPID_SUBJECT together (npx web-push generate-vapid-keys prints a key pair)`)
}

function checkVapidKeys (publicKey: string, privateKey: string): void {
  const ecdh = createECDH('prime256v1')
  const publicBytes = Buffer.from(publicKey, 'base64url')
  if (publicBytes.length !== 65 || publicBytes[0] !== 4) {
    throw new ConfigError('CHAT_VAPID_PUBLIC_KEY: expected the URL-safe base64 of an uncompressed P-256 public key (65 bytes), as npx web-push generate-vapid-keys prints')
  }
  const privateBytes = Buffer.from(privateKey, 'base64url')
  try {
    if (privateBytes.length !== 32) throw new Error('length')
    ecdh.setPrivateKey(privateBytes)
  } catch {
    throw new ConfigError('CHAT_VAPID_PRIVATE_KEY: expected the URL-safe base64 of a P-256 private key (32 bytes), as npx web-push generate-vapid-keys prints')
  }
  if (!ecdh.getPublicKey().equals(publicBytes)) {
    throw new ConfigError('CHAT_VAPID_PRIVATE_KEY: it is not the private key of CHAT_VAPID_PUBLIC_KEY; set both from the same key pair')
  }
}

function webhookConfig (raw: RawConfig): WebhookConfig | undefined {
  const events = parseWebhookEvents(raw.CHAT_WEBHOOK_EVENTS)
  const urls = parseWebhookUrls(raw.CHAT_WEBHOOK_URLS ?? '')
  const secret = raw.CHAT_WEBHOOK_SECRET
  if (secret !== undefined) {
    // The library that signs decides what it can use: valid base64 of a non-empty key.
    try {
      // eslint-disable-next-line no-new -- constructing it is the check
      new Webhook(secret)
    } catch {
      throw new ConfigError('CHAT_WEBHOOK_SECRET: expected whsec_ followed by the base64 of the key (24 to 64 random bytes), such as whsec_$(openssl rand -base64 32)')
    }
  }
  if (urls.length === 0) return undefined
  if (secret === undefined) {
    throw new ConfigError('CHAT_WEBHOOK_SECRET: required when CHAT_WEBHOOK_URLS is set (whsec_ followed by the base64 of the key)')
  }
  return { urls, secret, events, maxAttempts: raw.CHAT_WEBHOOK_MAX_ATTEMPTS }
}

/**
 * Reads and validates the configuration. Throws a ConfigError naming the first bad variable
 * and the form it expects, so the process can refuse to start with a useful message.
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env, { appAuth = false } = {}): Config {
  const input: Record<string, unknown> = {}
  for (const key of keys) {
    const raw = env[key]
    if (raw === undefined || raw === '') continue
    input[key] = coerce(key, raw)
  }
  for (const key of keys) {
    const schema = ConfigSchema.properties[key] as { default?: unknown }
    if (input[key] === undefined && schema.default !== undefined) input[key] = schema.default
  }
  if (!validator.Check(input)) {
    const first = [...validator.Errors(input)][0]
    const key = (first?.instancePath.split('/')[1] ?? 'configuration') as keyof RawConfig
    throw new ConfigError(`${key}: invalid value ${JSON.stringify(env[key])}; expected ${expectedForm(key)}`)
  }
  const raw = input as RawConfig
  if (raw.CHAT_JWT_PUBLIC_KEY !== undefined && !raw.CHAT_JWT_PUBLIC_KEY.includes('-----BEGIN')) {
    throw new ConfigError('CHAT_JWT_PUBLIC_KEY: expected a PEM public key (-----BEGIN PUBLIC KEY-----…)')
  }
  const devMode = !appAuth && raw.CHAT_JWT_SECRET === undefined && raw.CHAT_JWT_PUBLIC_KEY === undefined
  if (raw.NODE_ENV === 'production' && (devMode || raw.CHAT_ADMIN_TOKEN === undefined)) {
    const missing = [
      devMode ? 'CHAT_JWT_SECRET (or CHAT_JWT_PUBLIC_KEY)' : undefined,
      raw.CHAT_ADMIN_TOKEN === undefined ? 'CHAT_ADMIN_TOKEN' : undefined
    ].filter(Boolean).join(' and ')
    throw new ConfigError(`NODE_ENV=production requires ${missing} to be set`)
  }
  if (raw.CHAT_REDIS_CLUSTER && raw.REDIS_URL === undefined) {
    throw new ConfigError('CHAT_REDIS_CLUSTER: set to true, but REDIS_URL is not set; name a node of the cluster in REDIS_URL')
  }
  if ((raw.REDIS_SENTINELS === undefined) !== (raw.REDIS_SENTINEL_NAME === undefined)) {
    throw new ConfigError(raw.REDIS_SENTINELS === undefined
      ? 'REDIS_SENTINELS: REDIS_SENTINEL_NAME is set, but not the sentinels to ask (host:port,host:port)'
      : 'REDIS_SENTINEL_NAME: REDIS_SENTINELS is set, but not the name the sentinels monitor the primary under')
  }
  const redisAlone = (raw.REDIS_URL !== undefined || raw.REDIS_SENTINELS !== undefined) && raw.CHAT_DATABASE_URL === undefined
  if (redisAlone && raw.CHAT_HISTORY_LIMIT === 0) {
    throw new ConfigError('CHAT_HISTORY_LIMIT: 0 (keep every message) needs history in a database; on Redis alone history lives in memory, so give it a limit (1000 by default)')
  }
  if (redisAlone && raw.CHAT_RETENTION_DAYS !== undefined) {
    throw new ConfigError('CHAT_RETENTION_DAYS: retention needs history in a database; on Redis alone history lives in memory and historyLimit bounds it')
  }
  if (raw.REDIS_SENTINELS !== undefined && raw.CHAT_REDIS_CLUSTER) {
    throw new ConfigError('REDIS_SENTINELS: a Redis Cluster fails over by itself; unset REDIS_SENTINELS or CHAT_REDIS_CLUSTER')
  }
  const webhooks = webhookConfig(raw)
  if (raw.CHAT_PRESEND_URL !== undefined && raw.CHAT_WEBHOOK_SECRET === undefined) {
    throw new ConfigError('CHAT_WEBHOOK_SECRET: required when CHAT_PRESEND_URL is set (the hook\'s requests are signed with it, as webhooks are)')
  }
  checkVapid(raw)
  if (raw.CHAT_BLOCKED_WORDS !== undefined && blockedWordsOf(raw.CHAT_BLOCKED_WORDS).length === 0) {
    throw new ConfigError('CHAT_BLOCKED_WORDS: no word in it; expected comma-separated words such as spam,scam')
  }
  const { CHAT_ALLOWED_ORIGINS, CHAT_TRUST_PROXY, ...rest } = raw
  const allowedOrigins = CHAT_ALLOWED_ORIGINS === undefined || CHAT_ALLOWED_ORIGINS.trim() === ''
    ? undefined
    : parseOrigins(CHAT_ALLOWED_ORIGINS)
  return { ...rest, allowedOrigins, devMode, appAuth, trustProxy: parseTrustProxy(CHAT_TRUST_PROXY), webhooks }
}

/** A config for tests and embedding: defaults, then the given overrides, validated. */
export function configFrom (overrides: Record<string, string | number | boolean | undefined> = {}): Config {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) env[key] = String(value)
  }
  return loadConfig(env)
}
