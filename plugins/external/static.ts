import { existsSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import fp from 'fastify-plugin'
import { PUBLIC_DIR } from '../../src/public-dir.ts'

/**
 * The web pages bundled by `npm run build:web` (dist/public): the chat page at `/`, the
 * others at `/<page>/`. Pages talk to this origin only, which the headers pin down.
 * @see https://github.com/fastify/fastify-static
 */
export default fp(async (fastify) => {
  if (!existsSync(join(PUBLIC_DIR, 'index.html'))) {
    fastify.log.warn(`the web pages are not built (no ${PUBLIC_DIR}/index.html): run npm run build:web; GET / answers 404 until then`)
  }
  await fastify.register(fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: '/',
    // /admin → /admin/, so a page's relative links resolve inside its folder.
    redirect: true,
    setHeaders (response, path) {
      response.setHeader('x-content-type-options', 'nosniff')
      if (path.endsWith('.html')) {
        response.setHeader('content-security-policy', [
          "default-src 'self'", "connect-src 'self' ws: wss:", "img-src 'self' data:",
          "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"
        ].join('; '))
        response.setHeader('referrer-policy', 'no-referrer')
      }
    }
  })
}, { name: 'static' })
