import { randomBytes } from 'node:crypto'
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { idRegExp } from '../src/schemas/common.ts'
import type { Authenticate, Identity } from '../src/shared/identity.ts'

export type { Authenticate, Identity } from '../src/shared/identity.ts'

export type TokenCheck = { ok: true, identity: Identity } | { ok: false, message: string }

declare module 'fastify' {
  interface FastifyInstance {
    /** Checks a JWT from any source (upgrade or refresh frame). */
    verifyChatToken: (token: string) => TokenCheck
    /**
     * Decides who an upgrade request is: the embedding app's answer, a JWT's `sub`, or in dev
     * mode `?user=` or a guest id. Answers the request (400/401) and resolves undefined when it
     * may not connect.
     */
    identifyUpgrade: (request: FastifyRequest, reply: FastifyReply) => Identity | undefined | Promise<Identity | undefined>
  }
}

interface Verifier { verify: (token: string) => Record<string, unknown> }

function bearer (header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}

/**
 * The `sub` a token claims, read without checking it, for the line logged when the token is
 * refused (an expired token of a real user tells an operator more than "token invalid").
 */
function claimedUser (token: string): string | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub?: unknown }
    return typeof claims.sub === 'string' && idRegExp.test(claims.sub) ? claims.sub : undefined
  } catch {
    return undefined
  }
}

function failureMessage (err: unknown): string {
  const code = (err as { code?: string }).code ?? ''
  if (code === 'FAST_JWT_EXPIRED') return 'token expired'
  if (code === 'FAST_JWT_INACTIVE') return 'token not active yet'
  if (code === 'FAST_JWT_MALFORMED') return 'token malformed'
  if (code === 'FAST_JWT_INVALID_SIGNATURE') return 'token signature invalid'
  if (code === 'FAST_JWT_INVALID_ALGORITHM') return 'token algorithm not accepted'
  return 'token invalid'
}

async function registerVerifiers (fastify: FastifyInstance): Promise<Verifier[]> {
  const { CHAT_JWT_SECRET: secret, CHAT_JWT_PUBLIC_KEY: publicKey } = fastify.config
  const jwt = (): Record<string, Verifier> => (fastify as unknown as { jwt: Record<string, Verifier> }).jwt
  const verifiers: Verifier[] = []
  if (secret !== undefined) {
    await fastify.register(fastifyJwt, { secret, namespace: 'hs', verify: { algorithms: ['HS256'] } })
    verifiers.push(jwt().hs!)
  }
  if (publicKey !== undefined) {
    await fastify.register(fastifyJwt, {
      secret: { public: publicKey },
      namespace: 'pk',
      verify: { algorithms: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'EdDSA'] }
    })
    verifiers.push(jwt().pk!)
  }
  return verifiers
}

/**
 * Who may open a WebSocket. JWTs are checked by @fastify/jwt (HS256 with
 * CHAT_JWT_SECRET, RS/ES with CHAT_JWT_PUBLIC_KEY, or both during a key rotation).
 * @see https://github.com/fastify/fastify-jwt
 */
export default fp<{ authenticate?: Authenticate }>(async (fastify, { authenticate }) => {
  const verifiers = await registerVerifiers(fastify)
  const devMode = fastify.config.devMode
  if (devMode) fastify.log.warn('dev mode: CHAT_JWT_SECRET is not set, so any client may connect as any ?user=')
  const secret = fastify.config.CHAT_JWT_SECRET
  if (secret !== undefined && secret.length < 32) {
    fastify.log.warn('CHAT_JWT_SECRET is shorter than 32 characters; HS256 secrets should be at least 32 random bytes')
  }

  function verifyChatToken (token: string): TokenCheck {
    let message = 'token invalid'
    for (const verifier of verifiers) {
      let claims: Record<string, unknown>
      try {
        claims = verifier.verify(token)
      } catch (err) {
        message = failureMessage(err)
        continue
      }
      const { sub, name, exp, roles } = claims
      if (typeof sub !== 'string' || !idRegExp.test(sub)) return { ok: false, message: 'token sub must be a user id matching ^[A-Za-z0-9_.-]{1,64}$' }
      const identity: Identity = { user: sub }
      if (typeof name === 'string' && name.length <= 128) identity.name = name
      if (typeof exp === 'number') identity.expiresAt = exp * 1000
      if (Array.isArray(roles) && roles.includes('moderator')) identity.moderator = true
      return { ok: true, identity }
    }
    return { ok: false, message }
  }

  function refuse (request: FastifyRequest, reply: FastifyReply, message: string, token?: string): undefined {
    fastify.chatStats.authFailures++
    request.log.warn({ user: token === undefined ? undefined : claimedUser(token), ip: request.ip, reason: message }, 'upgrade refused: authentication failed')
    void reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message })
    return undefined
  }

  async function byApp (authenticate: Authenticate, request: FastifyRequest, reply: FastifyReply): Promise<Identity | undefined> {
    const identity = await authenticate(request)
    if (identity === undefined) return refuse(request, reply, 'not signed in to the app')
    if (!idRegExp.test(identity.user)) return refuse(request, reply, 'the app named a user that is not an id matching ^[A-Za-z0-9_.-]{1,64}$')
    return identity
  }

  function identifyUpgrade (request: FastifyRequest, reply: FastifyReply): Identity | undefined | Promise<Identity | undefined> {
    if (authenticate !== undefined) return byApp(authenticate, request, reply)
    const query = request.query as Record<string, unknown>
    if (!devMode) {
      const token = typeof query.token === 'string' ? query.token : bearer(request.headers.authorization)
      if (token === undefined || token === '') return refuse(request, reply, 'a JWT is required: ?token= or Authorization: Bearer')
      const check = verifyChatToken(token)
      if (!check.ok) return refuse(request, reply, check.message, token)
      return check.identity
    }
    const user = query.user
    // Only a missing ?user= makes a guest; an empty or malformed one is a mistake worth a 400.
    if (user === undefined) return { user: 'guest-' + randomBytes(6).toString('hex') }
    if (typeof user !== 'string' || !idRegExp.test(user)) {
      void reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: 'user must match ^[A-Za-z0-9_.-]{1,64}$' })
      return undefined
    }
    return { user }
  }

  fastify.decorate('verifyChatToken', verifyChatToken)
  fastify.decorate('identifyUpgrade', identifyUpgrade)
}, { name: 'auth', dependencies: ['config', 'chat-stats'] })
