import type { FastifyRequest } from 'fastify'

/** Who a connection is: its user id, and what its credentials said of it. */
export interface Identity {
  user: string
  name?: string
  /** A JWT's `roles` claim holding "moderator": a moderator of every room. */
  moderator?: boolean
  /** Unix ms at which the token expires, when it has an `exp`. */
  expiresAt?: number
}

/**
 * Who an upgrade request is, as the app embedding the service decides (its session cookie, its
 * own tokens): an identity, or undefined to refuse it with 401.
 */
export type Authenticate = (request: FastifyRequest) => Identity | undefined | Promise<Identity | undefined>
