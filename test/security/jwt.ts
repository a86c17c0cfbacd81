import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'

/** Claims as the tests write them; `exp` and `iat` are seconds since the epoch. */
export type Claims = Record<string, unknown>

const b64url = (value: Buffer | string) => Buffer.from(value).toString('base64url')
const segment = (value: unknown) => b64url(JSON.stringify(value))

/** Seconds since the epoch, `offset` seconds from now. */
export const inSeconds = (offset: number) => Math.floor(Date.now() / 1000) + offset

/** An HS256 JWT signed with `secret`, built by hand so the tests do not trust the library under test. */
export function signHs256 (claims: Claims, secret: string): string {
  const input = `${segment({ alg: 'HS256', typ: 'JWT' })}.${segment(claims)}`
  return `${input}.${b64url(createHmac('sha256', secret).update(input).digest())}`
}

/** An RS256 JWT signed with an RSA private key. */
export function signRs256 (claims: Claims, privateKey: KeyObject): string {
  const input = `${segment({ alg: 'RS256', typ: 'JWT' })}.${segment(claims)}`
  return `${input}.${b64url(sign('sha256', Buffer.from(input), privateKey))}`
}

/** An ES256 JWT: P-256 signature in the raw r||s form JWS requires (not DER). */
export function signEs256 (claims: Claims, privateKey: KeyObject): string {
  const input = `${segment({ alg: 'ES256', typ: 'JWT' })}.${segment(claims)}`
  return `${input}.${b64url(sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }))}`
}

/** A JWT with a chosen header and an arbitrary signature, e.g. `alg: none`. */
export function unsigned (claims: Claims, header: Claims = { alg: 'none', typ: 'JWT' }, signature = ''): string {
  return `${segment(header)}.${segment(claims)}.${signature}`
}

export interface KeyPair { privateKey: KeyObject, publicPem: string }

export function rsaKeyPair (): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }
}

export function ecKeyPair (): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { privateKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }
}
