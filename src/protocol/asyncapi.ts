import type { TSchema } from 'typebox'
import { CloseCode } from '../schemas/close-codes.ts'
import { eventSchema, WebhookHeaders } from '../schemas/webhooks.ts'
import type { Protocol } from './compose.ts'

/** Why the server closes a connection, for clients deciding whether and how to reconnect. */
const CLOSE_CODES: Record<number, string> = {
  [CloseCode.goingAway]: 'the server is shutting down: reconnect (with backoff) and rejoin with `since`',
  [CloseCode.invalidData]: 'a text frame was not valid UTF-8',
  [CloseCode.policy]: 'policy: the token expired (`token expired`), access was revoked, the user has too many connections, or the client kept flooding (`rate limit exceeded`)',
  [CloseCode.tooLarge]: 'a frame was larger than CHAT_MAX_PAYLOAD bytes',
  [CloseCode.tryAgainLater]: 'slow consumer: the client did not read and its send buffer passed CHAT_SEND_BUFFER; reconnect and rejoin with `since`',
  1006: 'no close frame (seen by the client): the network failed, or the server terminated a peer that missed a heartbeat pong'
}

const CHANNEL_DESCRIPTION = `The chat protocol. Every frame, both ways, is one text message holding one JSON object with a
string \`type\`; unknown fields are ignored. \`ref\` (a client string of at most 64 characters) is echoed
on every reply to the frame that carried it. The server pings every \`heartbeatMs\` (see \`welcome\`)
and terminates a peer that has not answered the previous ping.

Refusals before the upgrade are HTTP answers with the body \`{statusCode, error, message}\`: 400 (dev
mode: bad \`?user=\`), 401 (JWT missing or invalid), 403 (\`Origin\` not allowed), 426 (not an upgrade),
429 (per-IP limit or too many connections of the user).

Close codes:
${Object.entries(CLOSE_CODES).map(([code, reason]) => `- ${code}: ${reason}`).join('\n')}

The whole protocol, with ordering, recovery and presence rules: docs/protocol.md.`

const WEBHOOKS_DESCRIPTION = `Events out: with CHAT_WEBHOOK_URLS set, every event of the types in CHAT_WEBHOOK_EVENTS is
POSTed to each URL as JSON, signed as the Standard Webhooks specification says (headers \`webhook-id\`,
\`webhook-timestamp\`, \`webhook-signature\`, HMAC-SHA256 with the key of CHAT_WEBHOOK_SECRET). At least
once to each URL, in order per room (the next event of a room goes only after the previous one was
answered 2xx or parked), retried with backoff up to CHAT_WEBHOOK_MAX_ATTEMPTS times, then parked
(GET /webhooks/failed). A receiver drops duplicates by \`webhook-id\`. The whole story: docs/events.md.`

/** A frame schema as plain JSON: TypeBox keeps its own markers out of enumeration, so they are left behind. */
const plain = (schema: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>

/**
 * The AsyncAPI 3.0 document of GET /ws, made from the composed protocol (the core's and every
 * feature's schemas), the same schemas that validate frames: each frame is one message,
 * received (client frames) or sent (server frames) by this service on the /ws channel, and each
 * event type one message of the webhooks channel.
 * @see https://www.asyncapi.com/docs/reference/specification/v3.0.0
 */
export function asyncApiDocument (version: string, protocol: Protocol, prefix = '') {
  const SUMMARIES = protocol.summaries
  const frames = [
    ...Object.entries(protocol.clientFrames).map(([type, schema]) => ({ key: `client.${type}`, type, schema, action: 'receive' })),
    ...Object.entries(protocol.serverFrames).map(([type, schema]) => ({ key: `server.${type}`, type, schema, action: 'send' }))
  ]
  const messages: Record<string, Record<string, unknown>> = Object.fromEntries(frames.map(({ key, type, schema }) => [key, {
    name: type,
    title: `${key.startsWith('client.') ? 'Client' : 'Server'} frame \`${type}\``,
    summary: SUMMARIES[key] ?? `The \`${type}\` frame`,
    contentType: 'application/json',
    payload: plain(schema)
  }]))
  const operations: Record<string, Record<string, unknown>> = Object.fromEntries(frames.map(({ key, action }) => [`${action}.${key}`, {
    action,
    channel: { $ref: '#/channels/chat' },
    summary: SUMMARIES[key],
    messages: [{ $ref: `#/channels/chat/messages/${key}` }]
  }]))
  const security = ['jwtQuery', 'jwtHeader', 'devUser'].map((name) => ({ $ref: `#/components/securitySchemes/${name}` }))
  const events = Object.entries(protocol.events).map(([type, definition]) => ({
    key: `webhook.${type}`, type, schema: eventSchema(type, definition), description: definition.description
  }))
  for (const { key, type, schema, description } of events) {
    messages[key] = {
      name: type,
      title: `Event \`${type}\``,
      summary: description,
      contentType: 'application/json',
      headers: plain(WebhookHeaders),
      payload: plain(schema)
    }
    operations[`send.${key}`] = {
      action: 'send',
      channel: { $ref: '#/channels/webhooks' },
      summary: description,
      messages: [{ $ref: `#/channels/webhooks/messages/${key}` }],
      bindings: { http: { method: 'POST', bindingVersion: '0.3.0' } }
    }
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Chat service: WebSocket protocol',
      version,
      description: `Rooms, messages, presence and history over one WebSocket at \`GET ${prefix}/ws\`. The REST API is ` +
        `described by the OpenAPI document at \`${prefix}/docs/json\`.`
    },
    defaultContentType: 'application/json',
    servers: {
      plain: {
        host: '{host}',
        protocol: 'ws',
        description: 'The service itself, or a proxy without TLS',
        variables: { host: { default: 'localhost:3000', description: 'HOST:PORT of the service' } },
        security
      },
      tls: {
        host: '{host}',
        protocol: 'wss',
        description: 'Behind a TLS-terminating proxy',
        variables: { host: { default: 'chat.example.com', description: 'the proxy\'s host' } },
        security
      },
      receivers: {
        host: '{host}',
        protocol: 'https',
        description: 'Each URL of CHAT_WEBHOOK_URLS (http or https): where the service sends events',
        variables: { host: { default: 'hooks.example.com', description: 'the receiver\'s host' } },
        security: [{ $ref: '#/components/securitySchemes/webhookSignature' }]
      }
    },
    channels: {
      chat: {
        address: `${prefix}/ws`,
        servers: [{ $ref: '#/servers/plain' }, { $ref: '#/servers/tls' }],
        title: 'Chat',
        description: CHANNEL_DESCRIPTION,
        messages: Object.fromEntries(frames.map(({ key }) => [key, { $ref: `#/components/messages/${key}` }])),
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              properties: {
                token: { type: 'string', description: 'JWT (HS256 with CHAT_JWT_SECRET, or RS/ES/PS/EdDSA with CHAT_JWT_PUBLIC_KEY); wins over the header' },
                user: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'dev mode only: the user id; a random guest id without it' }
              }
            },
            headers: {
              type: 'object',
              properties: { Authorization: { type: 'string', description: '`Bearer <jwt>`, for clients that can set headers' } }
            },
            bindingVersion: '0.1.0'
          }
        },
        'x-close-codes': CLOSE_CODES
      },
      webhooks: {
        address: null,
        title: 'Events out (webhooks)',
        description: WEBHOOKS_DESCRIPTION,
        servers: [{ $ref: '#/servers/receivers' }],
        messages: Object.fromEntries(events.map(({ key }) => [key, { $ref: `#/components/messages/${key}` }]))
      }
    },
    operations,
    components: {
      messages,
      securitySchemes: {
        jwtQuery: {
          type: 'httpApiKey',
          name: 'token',
          in: 'query',
          description: 'A JWT whose `sub` is the user id, in `?token=` (browsers cannot set headers). Required when CHAT_JWT_SECRET or CHAT_JWT_PUBLIC_KEY is set; refused with HTTP 401 when missing, invalid or expired.'
        },
        jwtHeader: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'The same JWT in `Authorization: Bearer` on the upgrade request.'
        },
        webhookSignature: {
          type: 'httpApiKey',
          name: 'webhook-signature',
          in: 'header',
          // eslint-disable-next-line no-template-curly-in-string -- the signed content, written as the specification writes it
          description: 'Standard Webhooks: `v1,` and the base64 HMAC-SHA256 of `${webhook-id}.${webhook-timestamp}.${body}` keyed with the base64-decoded part of CHAT_WEBHOOK_SECRET (`whsec_…`). Receivers check it, and reject timestamps more than 5 minutes off.'
        },
        devUser: {
          type: 'httpApiKey',
          name: 'user',
          in: 'query',
          description: 'Dev mode (no JWT secret or key set): `?user=` names the user, unchecked; without it a guest id is given. Never expose a dev-mode server.'
        }
      }
    }
  }
}
