import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { RawData, WebSocket } from 'ws'
import type { Identity } from '../../plugins/auth.ts'
import { INVALID_FRAME } from '../../src/shared/chat-stats.ts'
import { CloseCode, Connection, type ConnectionShared } from '../../src/hub/connection.ts'
import type { ClientFrame } from '../../src/protocol/frame-parser.ts'
import type { PingFrame, RefreshFrame } from '../../src/schemas/frames.ts'

declare module 'fastify' {
  interface FastifyRequest { chatIdentity: Identity | null }
}

const kConnection = Symbol('chat connection')
type SocketWithConnection = WebSocket & { [kConnection]: Connection }
const connectionOf = (socket: WebSocket) => (socket as SocketWithConnection)[kConnection]

/** Timers cannot be set further ahead than this; a later expiry re-arms on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * The upgrade's HTTP response stays assigned to the TCP socket, and through its listeners
 * keeps the request, reply and headers alive as long as the WebSocket lives (kilobytes per
 * idle connection). The response is finished once upgraded, so it is detached here.
 */
function releaseHttpResponse (socket: WebSocket): void {
  const tcp = (socket as unknown as { _socket?: Socket & { _httpMessage?: ServerResponse | null } })._socket
  const response = tcp?._httpMessage
  if (tcp !== undefined && response != null) response.detachSocket(tcp)
}

/** GET /ws: the chat protocol (docs/protocol.md). */
const ws: FastifyPluginAsync = async (fastify) => {
  const config = fastify.config
  const hub = fastify.rooms
  const registry = fastify.connectionRegistry
  const parseFrame = fastify.parseFrame
  const stats = fastify.chatStats
  const welcomeHeartbeat = config.CHAT_HEARTBEAT_MS
  const expiryTimers = new WeakMap<Connection, NodeJS.Timeout>()

  fastify.decorateRequest('chatIdentity', null)

  /** Everything that may refuse a client happens here, before the upgrade. */
  async function admit (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const origin = request.headers.origin
    if (config.allowedOrigins !== undefined && origin !== undefined && !config.allowedOrigins.has(origin)) {
      return reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: `origin ${origin} is not allowed` })
    }
    const identity = await fastify.identifyUpgrade(request, reply)
    if (identity === undefined) return reply
    if (registry.countForUser(identity.user) >= config.CHAT_MAX_CONNECTIONS_PER_USER) {
      request.log.warn({ user: identity.user, ip: request.ip }, 'upgrade refused: the user has too many connections')
      return reply.code(429).send({
        statusCode: 429,
        error: 'Too Many Requests',
        message: `user ${identity.user} already has ${config.CHAT_MAX_CONNECTIONS_PER_USER} connections (CHAT_MAX_CONNECTIONS_PER_USER)`
      })
    }
    request.chatIdentity = identity
  }

  function armExpiry (connection: Connection): void {
    clearTimeout(expiryTimers.get(connection))
    if (connection.expiresAt === undefined) return
    const delay = Math.min(Math.max(0, connection.expiresAt - Date.now()), MAX_TIMER_MS)
    expiryTimers.set(connection, setTimeout(() => {
      if (connection.expiresAt !== undefined && connection.expiresAt > Date.now()) return armExpiry(connection)
      connection.log.info('token expired')
      connection.close(CloseCode.policy, 'token expired')
    }, delay).unref())
  }

  function refresh (connection: Connection, frame: RefreshFrame): void {
    const { ref } = frame
    if (config.devMode) return connection.send({ type: 'error', code: 'bad_request', message: 'dev mode uses no tokens', ref })
    const check = fastify.verifyChatToken(frame.token)
    if (!check.ok) return refuseRefresh(connection, check.message, ref)
    if (check.identity.user !== connection.user) return refuseRefresh(connection, 'token is for another user', ref)
    connection.expiresAt = check.identity.expiresAt
    connection.moderator = check.identity.moderator === true
    armExpiry(connection)
    const expiresAt = connection.expiresAt === undefined ? undefined : new Date(connection.expiresAt).toISOString()
    connection.send({ type: 'refreshed', expiresAt, ref })
  }

  function refuseRefresh (connection: Connection, reason: string, ref: string | undefined): void {
    stats.authFailures++
    connection.log.warn({ reason }, 'token refresh refused')
    connection.send({ type: 'error', code: 'unauthorized', message: reason, ref })
  }

  const frames = fastify.frames
  frames.handle<PingFrame>('ping', (connection, frame) => connection.send(frame.ref === undefined ? { type: 'pong' } : { type: 'pong', ref: frame.ref }))
  frames.handle<RefreshFrame>('refresh', refresh)

  function onMessage (connection: Connection, data: RawData, isBinary: boolean): void {
    if (connection.closed) return
    connection.framesIn++
    if (frameBytes(data) > config.CHAT_MAX_PAYLOAD) {
      // Only behind an app's own @fastify/websocket: the service's ws server refuses such frames itself.
      connection.close(CloseCode.tooLarge, 'frame too large')
      void hub.disconnect(connection)
      return
    }
    if (isBinary) {
      stats.frameReceived(INVALID_FRAME)
      connection.send({ type: 'error', code: 'bad_request', message: 'binary frames are not supported; send JSON text frames' })
      return
    }
    const parsed = parseFrame(data.toString())
    stats.frameReceived(parsed.ok ? parsed.frame.type : INVALID_FRAME)
    if (!connection.bucket.take()) {
      const ref = parsed.ok ? parsed.frame.ref : parsed.ref
      connection.send({ type: 'error', code: 'rate_limited', message: `more than ${config.CHAT_MSG_RATE} frames a second; frame dropped`, ref })
      // One line when a connection starts going over its rate, not one per dropped frame.
      if (connection.bucket.refusedInWindow === 1) {
        connection.log.warn({ rate: config.CHAT_MSG_RATE }, 'frames over the per-connection rate are dropped')
      }
      if (connection.bucket.flooding()) {
        connection.log.warn('closing a connection that keeps flooding')
        connection.close(CloseCode.policy, 'rate limit exceeded')
        void hub.disconnect(connection)
      }
      return
    }
    if (!parsed.ok) {
      connection.send({ type: 'error', code: 'bad_request', message: parsed.message, ref: parsed.ref })
      return
    }
    const frame = parsed.frame
    connection.run(() => {
      try {
        const result = frames.dispatch(connection, frame)
        if (result instanceof Promise) return result.catch((err: unknown) => fail(connection, frame, err))
      } catch (err) {
        fail(connection, frame, err)
      }
    })
  }

  function fail (connection: Connection, frame: ClientFrame, err: unknown): void {
    stats.storageErrors++
    connection.log.error({ err, frameType: frame.type }, 'frame failed')
    connection.send({ type: 'error', code: 'internal', message: `${frame.type} failed; try again`, ref: frame.ref })
  }

  const shared: ConnectionShared = {
    // The root logger, not request.log: children of per-request loggers get a hidden class
    // of their own, which costs memory on every long-lived connection.
    logger: fastify.log,
    sendBufferLimit: config.CHAT_SEND_BUFFER,
    messageRate: config.CHAT_MSG_RATE,
    stats,
    onSlowConsumer: (slow: Connection) => hub.dropSlowConsumer(slow)
  }
  function onSocketMessage (this: WebSocket, data: RawData, isBinary: boolean): void {
    onMessage(connectionOf(this), data, isBinary)
  }
  function onSocketPong (this: WebSocket): void {
    connectionOf(this).alive = true
  }
  function onSocketError (this: WebSocket, err: Error): void {
    connectionOf(this).debug({ err }, 'websocket error')
  }
  function onSocketClose (this: WebSocket, code: number, reason: Buffer): void {
    const connection = connectionOf(this)
    clearTimeout(expiryTimers.get(connection))
    void hub.disconnect(connection)
    // Every way a connection ends comes through here once; `rooms` still lists what it had joined.
    if (connection.logsInfo) {
      connection.info({
        code,
        reason: reason.toString(),
        durationMs: Math.round(performance.now()) - connection.openedAt,
        rooms: [...connection.rooms],
        framesIn: connection.framesIn,
        framesOut: connection.framesOut
      }, 'connection closed')
    }
  }

  function onSocket (socket: WebSocket, request: FastifyRequest): void {
    const identity = request.chatIdentity!
    const id = randomUUID()
    const connection = new Connection({
      id,
      user: identity.user,
      name: identity.name,
      socket,
      reqId: request.id,
      ip: request.ip,
      expiresAt: identity.expiresAt,
      moderator: identity.moderator,
      shared
    })
    // @fastify/websocket's error listener holds the request and reply for the life of the
    // socket; ours holds only the connection. ws closes the socket itself after an error.
    socket.removeAllListeners('error')
    releaseHttpResponse(socket)
    // Listeners first: a frame that arrives before them would be lost. They are shared by
    // every socket and find the connection on it, so an idle connection holds no closures.
    const holder = socket as SocketWithConnection
    holder[kConnection] = connection
    socket.on('error', onSocketError)
    socket.on('message', onSocketMessage)
    socket.on('pong', onSocketPong)
    socket.on('close', onSocketClose)
    if (registry.countForUser(identity.user) >= config.CHAT_MAX_CONNECTIONS_PER_USER) {
      connection.log.warn('closed at once: the user has too many connections')
      connection.close(CloseCode.policy, 'too many connections for this user')
      return
    }
    registry.add(connection)
    stats.connectionsOpened++
    armExpiry(connection)
    if (connection.logsInfo) connection.info({}, 'connection opened')
    connection.send({ type: 'welcome', connectionId: id, user: identity.user, heartbeatMs: welcomeHeartbeat })
  }

  fastify.route({
    method: 'GET',
    url: '/ws',
    schema: { hide: true },
    onRequest: admit,
    handler: (_request, reply) => reply.code(426).header('upgrade', 'websocket')
      .send({ statusCode: 426, error: 'Upgrade Required', message: 'GET /ws is a WebSocket endpoint' }),
    wsHandler: onSocket
  })
}

export default ws

/** The size of a received frame: ws hands a Buffer, or fragments, or an ArrayBuffer. */
function frameBytes (data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0)
  return data instanceof ArrayBuffer ? data.byteLength : data.length
}
