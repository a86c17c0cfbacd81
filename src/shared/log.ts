/** What the engine and the webhook workers log through: pino and Fastify's logger both fit. */
export interface EngineLog {
  error (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  info (obj: object, msg: string): void
  debug (obj: object, msg: string): void
}
