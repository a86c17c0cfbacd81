import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import webPush from 'web-push'
import { ConfigError, configFrom, loadConfig, resolveWebhookEvents, sentinelsOf } from '../src/config.ts'
import { serviceProtocol } from '../src/features/protocol.ts'

/** The configuration as the app resolves it: webhook event types checked against the service's. */
const resolved = (overrides: Record<string, string>) => resolveWebhookEvents(configFrom(overrides), Object.keys(serviceProtocol.events))

/** Asserts that the overrides are refused with a ConfigError whose message starts with `variable`. */
function refused (overrides: Record<string, string>, variable: string): ConfigError {
  let caught: unknown
  try {
    configFrom(overrides)
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof ConfigError, `${JSON.stringify(overrides)} should throw a ConfigError, got ${String(caught)}`)
  assert.ok(caught.message.startsWith(variable), `message should start with ${variable}: ${caught.message}`)
  return caught
}

describe('defaults', () => {
  test('an empty environment gives the contract defaults', () => {
    const config = loadConfig({})
    assert.equal(config.PORT, 3000)
    assert.equal(config.HOST, '0.0.0.0')
    assert.equal(config.LOG_LEVEL, 'info')
    assert.equal(config.CHAT_DB, './data/chat.sqlite')
    assert.equal(config.CHAT_HEARTBEAT_MS, 30000)
    assert.equal(config.CHAT_MAX_PAYLOAD, 16384)
    assert.equal(config.CHAT_MAX_TEXT, 4000)
    assert.equal(config.CHAT_MSG_RATE, 20)
    assert.equal(config.CHAT_SEND_BUFFER, 1048576)
    assert.equal(config.CHAT_RATE_LIMIT, 600)
    assert.equal(config.CHAT_AUTO_CREATE_ROOMS, true)
    assert.equal(config.CHAT_HISTORY_LIMIT, 1000)
    assert.equal(config.CHAT_SHUTDOWN_MS, 10000)
  })

  test('optional variables are unset by default: dev mode, open admin API, any origin, no Redis', () => {
    const config = configFrom()
    assert.equal(config.REDIS_URL, undefined)
    assert.equal(config.CHAT_REDIS_CLUSTER, false)
    assert.equal(config.CHAT_JWT_SECRET, undefined)
    assert.equal(config.CHAT_ADMIN_TOKEN, undefined)
    assert.equal(config.allowedOrigins, undefined)
    assert.equal(config.devMode, true)
  })

  test('empty strings count as unset', () => {
    const config = loadConfig({ PORT: '', CHAT_HISTORY_LIMIT: '', CHAT_AUTO_CREATE_ROOMS: '' })
    assert.equal(config.PORT, 3000)
    assert.equal(config.CHAT_HISTORY_LIMIT, 1000)
    assert.equal(config.CHAT_AUTO_CREATE_ROOMS, true)
  })

  test('loadConfig reads process.env when given nothing', () => {
    const saved = process.env.CHAT_MAX_TEXT
    process.env.CHAT_MAX_TEXT = '123'
    try {
      assert.equal(loadConfig().CHAT_MAX_TEXT, 123)
    } finally {
      if (saved === undefined) delete process.env.CHAT_MAX_TEXT
      else process.env.CHAT_MAX_TEXT = saved
    }
  })
})

describe('valid values', () => {
  test('numbers, booleans and strings are read from their text form', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      CHAT_DB: ':memory:',
      CHAT_HEARTBEAT_MS: '1000',
      CHAT_MAX_PAYLOAD: '2048',
      CHAT_MAX_TEXT: '10',
      CHAT_MSG_RATE: '5',
      CHAT_SEND_BUFFER: '4096',
      CHAT_RATE_LIMIT: '0',
      CHAT_AUTO_CREATE_ROOMS: 'false',
      CHAT_HISTORY_LIMIT: '7',
      CHAT_SHUTDOWN_MS: '500'
    })
    assert.equal(config.PORT, 8080)
    assert.equal(config.HOST, '127.0.0.1')
    assert.equal(config.LOG_LEVEL, 'debug')
    assert.equal(config.CHAT_DB, ':memory:')
    assert.equal(config.CHAT_HEARTBEAT_MS, 1000)
    assert.equal(config.CHAT_MAX_PAYLOAD, 2048)
    assert.equal(config.CHAT_MAX_TEXT, 10)
    assert.equal(config.CHAT_MSG_RATE, 5)
    assert.equal(config.CHAT_SEND_BUFFER, 4096)
    assert.equal(config.CHAT_RATE_LIMIT, 0)
    assert.equal(config.CHAT_AUTO_CREATE_ROOMS, false)
    assert.equal(config.CHAT_HISTORY_LIMIT, 7)
    assert.equal(config.CHAT_SHUTDOWN_MS, 500)
  })

  test('booleans accept true/false, 1/0, yes/no, on/off in any case', () => {
    for (const value of ['true', 'TRUE', '1', 'yes', 'On']) {
      assert.equal(configFrom({ CHAT_AUTO_CREATE_ROOMS: value }).CHAT_AUTO_CREATE_ROOMS, true, value)
    }
    for (const value of ['false', 'False', '0', 'no', 'OFF']) {
      assert.equal(configFrom({ CHAT_AUTO_CREATE_ROOMS: value }).CHAT_AUTO_CREATE_ROOMS, false, value)
    }
  })

  test('a JWT secret turns dev mode off', () => {
    const config = configFrom({ CHAT_JWT_SECRET: 's3cret' })
    assert.equal(config.devMode, false)
    assert.equal(config.CHAT_JWT_SECRET, 's3cret')
  })

  test('PORT 0 is accepted (any free port)', () => {
    assert.equal(configFrom({ PORT: 0 }).PORT, 0)
  })
})

describe('invalid values throw a ConfigError naming the variable', () => {
  const cases: [string, string][] = [
    ['PORT', 'abc'], ['PORT', '-1'], ['PORT', '65536'], ['PORT', '3.5'],
    ['LOG_LEVEL', 'loud'],
    ['REDIS_URL', 'localhost:6379'],
    ['CHAT_REDIS_CLUSTER', 'maybe'], ['CHAT_REDIS_CLUSTER', 'true'],
    ['CHAT_HEARTBEAT_MS', '-5'], ['CHAT_HEARTBEAT_MS', '0'], ['CHAT_HEARTBEAT_MS', 'soon'],
    ['CHAT_MAX_PAYLOAD', '8'], ['CHAT_MAX_PAYLOAD', '1e6'],
    ['CHAT_MAX_TEXT', '0'], ['CHAT_MAX_TEXT', 'lots'],
    ['CHAT_MSG_RATE', '0'], ['CHAT_MSG_RATE', '2.5'],
    ['CHAT_SEND_BUFFER', '0'], ['CHAT_SEND_BUFFER', 'big'],
    ['CHAT_RATE_LIMIT', '-1'], ['CHAT_RATE_LIMIT', 'off'],
    ['CHAT_AUTO_CREATE_ROOMS', 'maybe'], ['CHAT_AUTO_CREATE_ROOMS', '2'],
    ['CHAT_HISTORY_LIMIT', '-10'], ['CHAT_HISTORY_LIMIT', 'all'],
    ['CHAT_SHUTDOWN_MS', '0'], ['CHAT_SHUTDOWN_MS', '10s'],
    ['CHAT_ALLOWED_ORIGINS', 'not-a-url'],
    ['CHAT_JWT_PUBLIC_KEY', 'not a pem']
  ]
  for (const [variable, value] of cases) {
    test(`${variable}=${value}`, () => {
      const error = refused({ [variable]: value }, variable)
      assert.equal(error.name, 'ConfigError')
    })
  }

  test('the message quotes the bad value and the expected form', () => {
    const error = refused({ CHAT_HEARTBEAT_MS: '-5' }, 'CHAT_HEARTBEAT_MS')
    assert.match(error.message, /"-5"/)
    assert.match(error.message, /integer/)
  })

  test('CHAT_REDIS_CLUSTER needs REDIS_URL, which names a node of the cluster', () => {
    assert.match(refused({ CHAT_REDIS_CLUSTER: 'true' }, 'CHAT_REDIS_CLUSTER').message, /REDIS_URL/)
    const config = configFrom({ CHAT_REDIS_CLUSTER: 'true', REDIS_URL: 'redis://10.0.0.5:7000' })
    assert.equal(config.CHAT_REDIS_CLUSTER, true)
  })

  test('Sentinel: REDIS_SENTINELS and REDIS_SENTINEL_NAME go together, not with a cluster; CHAT_REDIS_ACK_REPLICAS counts replicas', () => {
    const config = configFrom({ REDIS_SENTINELS: ' 10.0.0.1:26379, sentinel-b:26380 ', REDIS_SENTINEL_NAME: 'chat', CHAT_REDIS_ACK_REPLICAS: '1' })
    assert.deepEqual(sentinelsOf(config.REDIS_SENTINELS!), [{ host: '10.0.0.1', port: 26379 }, { host: 'sentinel-b', port: 26380 }])
    assert.equal(config.CHAT_REDIS_ACK_REPLICAS, 1)
    assert.equal(configFrom().CHAT_REDIS_ACK_REPLICAS, 0)
    assert.match(refused({ REDIS_SENTINELS: '10.0.0.1:26379' }, 'REDIS_SENTINEL_NAME').message, /REDIS_SENTINELS is set/)
    assert.match(refused({ REDIS_SENTINEL_NAME: 'chat' }, 'REDIS_SENTINELS').message, /REDIS_SENTINEL_NAME is set/)
    refused({ REDIS_SENTINELS: '10.0.0.1', REDIS_SENTINEL_NAME: 'chat' }, 'REDIS_SENTINELS')
    refused({ REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_NAME: 'chat', CHAT_REDIS_CLUSTER: 'true', REDIS_URL: 'redis://a:1' }, 'REDIS_SENTINELS')
    refused({ CHAT_REDIS_ACK_REPLICAS: '-1' }, 'CHAT_REDIS_ACK_REPLICAS')
  })

  test('the first bad variable is named even when a valid one precedes it', () => {
    refused({ PORT: '8080', CHAT_MAX_TEXT: 'x' }, 'CHAT_MAX_TEXT')
  })
})

describe('NODE_ENV=production', () => {
  test('without the JWT secret and the admin token it is refused, naming both', () => {
    const error = refused({ NODE_ENV: 'production' }, 'NODE_ENV')
    assert.match(error.message, /CHAT_JWT_SECRET/)
    assert.match(error.message, /CHAT_ADMIN_TOKEN/)
  })

  test('with only one of them it is refused, naming the missing one', () => {
    const noToken = refused({ NODE_ENV: 'production', CHAT_JWT_SECRET: 's' }, 'NODE_ENV')
    assert.match(noToken.message, /CHAT_ADMIN_TOKEN/)
    assert.doesNotMatch(noToken.message, /CHAT_JWT_SECRET/)
    const noSecret = refused({ NODE_ENV: 'production', CHAT_ADMIN_TOKEN: 't' }, 'NODE_ENV')
    assert.match(noSecret.message, /CHAT_JWT_SECRET/)
    assert.doesNotMatch(noSecret.message, /CHAT_ADMIN_TOKEN/)
  })

  test('with both it is accepted', () => {
    const config = configFrom({ NODE_ENV: 'production', CHAT_JWT_SECRET: 's', CHAT_ADMIN_TOKEN: 't' })
    assert.equal(config.devMode, false)
    assert.equal(config.CHAT_ADMIN_TOKEN, 't')
  })
})

describe('CHAT_ALLOWED_ORIGINS', () => {
  test('a comma-separated list becomes a set of exact origins', () => {
    const config = configFrom({ CHAT_ALLOWED_ORIGINS: 'https://chat.example.com, http://localhost:5173' })
    assert.deepEqual([...config.allowedOrigins!].sort(), ['http://localhost:5173', 'https://chat.example.com'])
  })

  test('a trailing slash is dropped and empty entries are skipped', () => {
    const config = configFrom({ CHAT_ALLOWED_ORIGINS: 'https://a.example/,,https://b.example:8443,' })
    assert.deepEqual([...config.allowedOrigins!].sort(), ['https://a.example', 'https://b.example:8443'])
  })

  test('a blank value means every origin is allowed', () => {
    assert.equal(configFrom({ CHAT_ALLOWED_ORIGINS: '   ' }).allowedOrigins, undefined)
  })

  test('an entry with a path is refused', () => {
    const error = refused({ CHAT_ALLOWED_ORIGINS: 'https://chat.example.com/app' }, 'CHAT_ALLOWED_ORIGINS')
    assert.match(error.message, /chat\.example\.com\/app/)
  })

  test('an entry without a scheme is refused', () => {
    refused({ CHAT_ALLOWED_ORIGINS: 'https://ok.example,chat.example.com' }, 'CHAT_ALLOWED_ORIGINS')
  })
})

describe('webhooks', () => {
  const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'

  test('off by default: no URL, nothing recorded', () => {
    const config = configFrom()
    assert.equal(config.webhooks, undefined)
    assert.equal(config.CHAT_WEBHOOK_MAX_ATTEMPTS, 10)
  })

  test('URLs are parsed once each, every event type is sent, 10 attempts by default', () => {
    const config = resolved({
      CHAT_WEBHOOK_URLS: ' https://hooks.example.com/chat , http://10.0.0.7:8080/in,,https://hooks.example.com/chat',
      CHAT_WEBHOOK_SECRET: SECRET
    })
    assert.deepEqual(config.webhooks?.urls, ['https://hooks.example.com/chat', 'http://10.0.0.7:8080/in'])
    assert.equal(config.webhooks?.secret, SECRET)
    assert.equal(config.webhooks?.maxAttempts, 10)
    assert.deepEqual([...config.webhooks!.events].sort(), Object.keys(serviceProtocol.events).sort())
    for (const type of ['member.kicked', 'message.created', 'message.deleted', 'message.edited', 'presence.join', 'presence.leave',
      'room.created', 'room.deleted', 'room.updated']) assert.ok(config.webhooks!.events.has(type), type)
  })

  test('CHAT_WEBHOOK_EVENTS picks types; CHAT_WEBHOOK_MAX_ATTEMPTS may be 1', () => {
    const config = resolved({
      CHAT_WEBHOOK_URLS: 'https://a.example/h',
      CHAT_WEBHOOK_SECRET: SECRET,
      CHAT_WEBHOOK_EVENTS: 'message.created, room.deleted',
      CHAT_WEBHOOK_MAX_ATTEMPTS: '1'
    })
    assert.deepEqual([...config.webhooks!.events].sort(), ['message.created', 'room.deleted'])
    assert.equal(config.webhooks?.maxAttempts, 1)
  })

  test('a URL that does not parse, or is not http(s), is refused and quoted', () => {
    for (const bad of ['hooks.example.com/chat', 'ftp://files.example/in', 'https://ok.example/h,nope', 'javascript:alert(1)']) {
      const error = refused({ CHAT_WEBHOOK_URLS: bad, CHAT_WEBHOOK_SECRET: SECRET }, 'CHAT_WEBHOOK_URLS')
      assert.match(error.message, /http\(s\)/, bad)
    }
    assert.match(refused({ CHAT_WEBHOOK_URLS: 'ftp://files.example/in', CHAT_WEBHOOK_SECRET: SECRET }, 'CHAT_WEBHOOK_URLS').message, /"ftp:\/\/files\.example\/in"/)
  })

  test('URLs need a secret of the whsec_ form', () => {
    assert.match(refused({ CHAT_WEBHOOK_URLS: 'https://a.example/h' }, 'CHAT_WEBHOOK_SECRET').message, /required/)
    for (const bad of ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_', 'whsec_not base64!', 'whsec_%%%%']) {
      refused({ CHAT_WEBHOOK_URLS: 'https://a.example/h', CHAT_WEBHOOK_SECRET: bad }, 'CHAT_WEBHOOK_SECRET')
    }
  })

  test('an unknown event type is refused, naming it and the known ones', () => {
    const overrides = { CHAT_WEBHOOK_URLS: 'https://a.example/h', CHAT_WEBHOOK_SECRET: SECRET, CHAT_WEBHOOK_EVENTS: 'message.created,message.sent' }
    let error: unknown
    try {
      resolved(overrides)
    } catch (err) {
      error = err
    }
    assert.ok(error instanceof ConfigError, 'a ConfigError')
    assert.match(error.message, /^CHAT_WEBHOOK_EVENTS: /)
    assert.match(error.message, /"message\.sent"/)
    assert.match(error.message, /member\.kicked/)
  })

  test('CHAT_WEBHOOK_MAX_ATTEMPTS is an integer of at least 1', () => {
    for (const bad of ['0', '-3', 'many', '2.5']) refused({ CHAT_WEBHOOK_MAX_ATTEMPTS: bad }, 'CHAT_WEBHOOK_MAX_ATTEMPTS')
  })
})

describe('Web Push', () => {
  const keys = webPush.generateVAPIDKeys()
  const other = webPush.generateVAPIDKeys()
  const vapid = { CHAT_VAPID_PUBLIC_KEY: keys.publicKey, CHAT_VAPID_PRIVATE_KEY: keys.privateKey, CHAT_VAPID_SUBJECT: 'mailto:ops@example.com' }

  test('the three VAPID variables together are accepted; the coalescing window defaults to 10 s', () => {
    const config = configFrom(vapid)
    assert.equal(config.CHAT_VAPID_PUBLIC_KEY, keys.publicKey)
    assert.equal(config.CHAT_PUSH_COALESCE_MS, 10000)
    assert.equal(configFrom({}).CHAT_VAPID_PUBLIC_KEY, undefined)
  })

  test('a VAPID variable without the others, keys that do not belong together, or malformed ones are refused naming the variable', () => {
    refused({ CHAT_VAPID_PUBLIC_KEY: keys.publicKey }, 'CHAT_VAPID_PRIVATE_KEY')
    refused({ CHAT_VAPID_PUBLIC_KEY: keys.publicKey, CHAT_VAPID_PRIVATE_KEY: keys.privateKey }, 'CHAT_VAPID_SUBJECT')
    refused({ ...vapid, CHAT_VAPID_PRIVATE_KEY: other.privateKey }, 'CHAT_VAPID_PRIVATE_KEY')
    refused({ ...vapid, CHAT_VAPID_PUBLIC_KEY: 'AAAA' }, 'CHAT_VAPID_PUBLIC_KEY')
    refused({ ...vapid, CHAT_VAPID_PRIVATE_KEY: 'AAAA' }, 'CHAT_VAPID_PRIVATE_KEY')
    refused({ ...vapid, CHAT_VAPID_SUBJECT: 'ops@example.com' }, 'CHAT_VAPID_SUBJECT')
    refused({ CHAT_PUSH_COALESCE_MS: '0' }, 'CHAT_PUSH_COALESCE_MS')
  })
})
