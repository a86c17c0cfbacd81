import fp from 'fastify-plugin'
import type { Config } from '../src/config.ts'

declare module 'fastify' {
  interface FastifyInstance { config: Config }
}

/** Shares the validated configuration with every plugin and route. */
export default fp<{ config: Config }>(async (fastify, { config }) => {
  fastify.decorate('config', config)
}, { name: 'config' })
