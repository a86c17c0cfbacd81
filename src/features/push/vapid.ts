import webPush from 'web-push'

export interface VapidKeys { publicKey: string, privateKey: string, subject: string }

/** How long a VAPID token is valid; push services accept at most 24 h. */
const TOKEN_MS = 12 * 3600 * 1000
/** A token is made again this long before it expires. */
const RENEW_MS = 3600 * 1000

/**
 * VAPID `Authorization` headers (RFC 8292), one per push service origin, made with web-push and
 * kept until an hour before they expire: signing an ES256 token for every push would cost far
 * more than the push's encryption.
 */
export class VapidHeaders {
  private readonly tokens = new Map<string, { authorization: string, expires: number }>()

  constructor (private readonly keys: VapidKeys) {}

  for (endpoint: string, now = Date.now()): string {
    const audience = new URL(endpoint).origin
    const kept = this.tokens.get(audience)
    if (kept !== undefined && kept.expires - RENEW_MS > now) return kept.authorization
    const expires = now + TOKEN_MS
    const { Authorization } = webPush.getVapidHeaders(audience, this.keys.subject, this.keys.publicKey, this.keys.privateKey,
      'aes128gcm', Math.floor(expires / 1000)) as { Authorization: string }
    this.tokens.set(audience, { authorization: Authorization, expires })
    return Authorization
  }
}
