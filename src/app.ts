import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyError, type FastifyInstance, type RouteOptions } from 'fastify'
import type { DestinationStream } from 'pino'
import adminAuth from '../plugins/admin-auth.ts'
import auth from '../plugins/auth.ts'
import chatStats from '../plugins/chat-stats.ts'
import configPlugin from '../plugins/config.ts'
import connectionRegistry from '../plugins/connection-registry.ts'
import rateLimit from '../plugins/external/rate-limit.ts'
import staticPages from '../plugins/external/static.ts'
import swagger from '../plugins/external/swagger.ts'
import websocket from '../plugins/external/websocket.ts'
import heartbeat from '../plugins/heartbeat.ts'
import frames from '../plugins/frames.ts'
import messageSchemas from '../plugins/message-schemas.ts'
import messages from '../plugins/messages.ts'
import metrics from '../plugins/metrics.ts'
import roomAdmin from '../plugins/room-admin.ts'
import rooms from '../plugins/rooms.ts'
import storage from '../plugins/storage.ts'
import webhooks from '../plugins/webhooks.ts'
import clientConfig from '../routes/client-config.ts'
import docs from '../routes/docs.ts'
import health from '../routes/health.ts'
import roomRoutes from '../routes/rooms/index.ts'
import webhookRoutes from '../routes/webhooks/index.ts'
import wsRoutes from '../routes/ws/index.ts'
import { type Config, resolveWebhookEvents } from './config.ts'
import { OutcomeUnknown } from './engine/types.ts'
import { loggerOptions } from './logger.ts'
import { features } from './features/index.ts'
import { composeProtocol, type Protocol } from './protocol/compose.ts'
import { MessageCore } from './schemas/common.ts'
import { coreProtocol } from './schemas/frames.ts'
import type { Authenticate } from './shared/identity.ts'
import { validatorCompiler } from './validation.ts'

export interface AppOptions {
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: DestinationStream
  /** Sees every route as it is registered (tests check that the OpenAPI document covers them). */
  onRoute?: (route: RouteOptions) => void
}

/**
 * Builds the service as a server of its own: Fastify with the service's server settings, and the
 * service registered on its root. Throws a ConfigError naming the variable when the
 * configuration does not fit the service (an event type no part defines).
 */
export async function buildApp (givenConfig: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const config = serviceConfig(givenConfig)
  const app = Fastify({
    logger: loggerOptions(config.LOG_LEVEL, options.logStream),
    requestIdHeader: 'x-request-id',
    bodyLimit: 64 * 1024,
    // No idle timer on sockets: it would outlive every WebSocket upgrade and be refreshed on
    // each write. Slow requests are bounded by requestTimeout, idle keep-alives by keepAliveTimeout.
    connectionTimeout: 0,
    keepAliveTimeout: 72_000,
    requestTimeout: 30_000,
    return503OnClosing: true,
    // Behind a load balancer the per-IP rate limit needs the client's address, not the proxy's.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy
  }).withTypeProvider<TypeBoxTypeProvider>()
  await registerChatService(app, { config, onRoute: options.onRoute })
  return app
}

/** Trusts the nearest `hops` proxies (Fastify types a hop count only as a function). */
function trustHops (hops: number) {
  return (_address: string, hop: number) => hop < hops
}

export interface ServiceOptions {
  config: Config
  /** Sees every route as it is registered (tests check that the OpenAPI document covers them). */
  onRoute?: (route: RouteOptions) => void
  /** Who an upgrade request is, decided by the app that embeds the service (instead of JWTs or ?user=). */
  authenticate?: Authenticate
}

/** The protocol of the core and every feature, composed once per process. */
let composed: Protocol | undefined
export function serviceProtocol (): Protocol {
  composed ??= composeProtocol([coreProtocol, ...features.map((feature) => feature.protocol)], MessageCore)
  return composed
}

/**
 * The configuration as the service runs it: the event types CHAT_WEBHOOK_EVENTS names checked
 * against the protocol's (a ConfigError naming the variable otherwise).
 */
export function serviceConfig (config: Config): Config {
  return resolveWebhookEvents(config, Object.keys(serviceProtocol().events))
}

/**
 * Registers the whole service on `fastify`: the core's plugins in dependency order, then its
 * routes, then every chat feature (src/features/index.ts), then the pages. The same on the root
 * of the service's own server (buildApp) and inside an encapsulated context of another app, under
 * a prefix (plugin.ts): its error and not-found handlers and its hooks stay in that context.
 */
export async function registerChatService (fastify: FastifyInstance, options: ServiceOptions): Promise<void> {
  const protocol = serviceProtocol()
  const config = serviceConfig(options.config)
  fastify.setValidatorCompiler(validatorCompiler)
  if (options.onRoute !== undefined) fastify.addHook('onRoute', options.onRoute)
  await fastify.register(configPlugin, { config })
  await fastify.register(chatStats, { frameTypes: Object.keys(protocol.clientFrames) })
  await fastify.register(storage, { extensions: features.flatMap((feature) => feature.storage ?? []) })
  await fastify.register(connectionRegistry)
  await fastify.register(messageSchemas, { protocol })
  await fastify.register(frames)
  await fastify.register(rooms)
  await fastify.register(messages)
  await fastify.register(roomAdmin)
  await fastify.register(webhooks)
  await fastify.register(heartbeat)
  await fastify.register(auth, { authenticate: options.authenticate })
  await fastify.register(adminAuth)
  await fastify.register(metrics)
  // Before every route: @fastify/websocket works through onRoute, and the rate limit is a root
  // hook that must come after the one of @fastify/websocket that marks upgrade requests (a
  // refused upgrade's socket is released only when marked).
  await fastify.register(websocket)
  await fastify.register(rateLimit)
  await fastify.register(swagger)

  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    const statusCode = error.statusCode ?? 500
    if (statusCode >= 500) {
      fastify.chatStats.storageErrors++
      request.log.error({ err: error }, 'request failed')
      // A write storage did not answer may have happened: the caller must know to repeat it with its clientId.
      const message = error instanceof OutcomeUnknown ? `${error.message}; repeat the call with the same clientId, which stores it once` : 'internal error'
      return reply.code(500).send({ statusCode: 500, error: 'Internal Server Error', message })
    }
    return reply.code(statusCode).send({
      statusCode, error: reasonPhrase(statusCode), message: error.message
    })
  })
  // Unknown routes are rate-limited too: the limit is the context's first onRequest hook.
  fastify.setNotFoundHandler((request, reply) => reply.code(404).send({
    statusCode: 404, error: 'Not Found', message: `route ${request.method} ${request.url.split('?')[0]} not found`
  }))

  await fastify.register(health)
  await fastify.register(docs)
  await fastify.register(wsRoutes)
  await fastify.register(roomRoutes)
  await fastify.register(webhookRoutes)
  await fastify.register(clientConfig)
  for (const feature of features) await fastify.register(feature.plugin)
  await fastify.register(staticPages)
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests'
}
function reasonPhrase (statusCode: number): string {
  return REASONS[statusCode] ?? 'Error'
}
