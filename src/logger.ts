import type { FastifyServerOptions } from 'fastify'
import type { DestinationStream } from 'pino'

/** Query parameters whose values are secrets and never reach a log line. */
const SECRET_PARAMS = /([?&](?:token|access_token|jwt)=)[^&#]*/gi

export function redactUrl (url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]')
}

/**
 * pino options: JSON lines, request ids, and no secret in any line. The request
 * serializer rewrites `?token=` out of URLs, and redaction removes credentials from any
 * headers or config that an error or a handler might log.
 */
export function loggerOptions (level: string, stream?: DestinationStream): FastifyServerOptions['logger'] {
  return {
    level,
    ...(stream === undefined ? {} : { stream }),
    redact: {
      paths: [
        'req.headers.authorization', 'req.headers.cookie', 'headers.authorization',
        'token', '*.token', 'config.CHAT_JWT_SECRET', 'config.CHAT_ADMIN_TOKEN'
      ],
      censor: '[redacted]'
    },
    serializers: {
      req (request: { method?: string, url?: string, socket?: { remoteAddress?: string, remotePort?: number } }) {
        return {
          method: request.method,
          url: redactUrl(request.url ?? ''),
          remoteAddress: request.socket?.remoteAddress,
          remotePort: request.socket?.remotePort
        }
      }
    }
  }
}
