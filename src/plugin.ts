import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { Authenticate } from './shared/identity.ts'
import type { Config } from './config.ts'
import { type ChatOptions, configFromOptions } from './embedding.ts'
import type { MessageService } from './hub/messages.ts'
import type { RoomAdmin } from './rooms/room-admin.ts'
import { registerChatService } from './app.ts'

export type { Authenticate, Identity } from './shared/identity.ts'
export type { ChatOptions } from './embedding.ts'
export { ConfigError } from './config.ts'

export interface ChatPluginOptions extends ChatOptions {
  /** Where the service's routes go: `/chat` serves `/chat/ws`, `/chat/rooms`, the page at `/chat/`… */
  prefix?: string
  /**
   * Who a WebSocket upgrade is, as the app knows it (its session, its own tokens): the app's
   * user becomes the chat user. Without it, JWTs (`jwtSecret`, `jwtPublicKey`) or dev mode decide.
   */
  authenticate?: Authenticate
}

/** What the app can reach of the service it mounted: `app.chat`. */
export interface ChatService {
  /** The routes' prefix ('' at the root). */
  readonly prefix: string
  /** The configuration the service runs with, defaults filled in. */
  readonly config: Config
  /** Rooms as operators manage them: create, change, delete, grants, who is online. */
  readonly rooms: RoomAdmin
  /** Messages: `post(room, user, text, {})` stores and delivers a message as the user. */
  readonly messages: MessageService
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The chat service mounted by fastify-chat's plugin. */
    chat: ChatService
  }
}

/** The service's request body limit (64 KiB), which its own server sets for every route. */
const BODY_LIMIT = 64 * 1024

/**
 * The whole chat service (routes, WebSocket, pages, metrics) mounted in an existing Fastify 5
 * app: `await app.register(chat, { prefix: '/chat', db: './chat.sqlite' })`. The service lives
 * in a context of its own under the prefix: its decorators, hooks and error handler do not
 * touch the app's routes; the app gets `app.chat`. Closing the app closes the service: clients
 * get 1001, storage is flushed and closed.
 */
const chat: FastifyPluginAsync<ChatPluginOptions> = async (app, options) => {
  const { prefix = '', authenticate, ...settings } = options
  const config = configFromOptions(settings, { appAuth: authenticate !== undefined })
  let service: ChatService | undefined
  await app.register(async (context) => {
    context.addHook('onRoute', (route) => { route.bodyLimit ??= BODY_LIMIT })
    await registerChatService(context, { config, authenticate })
    service = { prefix, config: context.config, rooms: context.roomAdmin, messages: context.messages }
  }, settings.logLevel === undefined ? { prefix } : { prefix, logLevel: config.LOG_LEVEL })
  app.decorate('chat', service!)
}

export default fp(chat, { name: 'fastify-chat', fastify: '5.x' })
