import { ConfigSchema } from '../config.ts'
import { optionName } from '../embedding.ts'

interface VariableSchema { default?: unknown, description?: string }

/**
 * `fastify-chat --help`: how to run it, then every environment variable the service reads (the
 * configuration schema's own list), with its default, what it does, and its name as an option of
 * the Fastify plugin.
 */
export function helpText (version: string): string {
  const rows = Object.entries(ConfigSchema.properties).map(([variable, schema]) => {
    const { default: fallback, description = '' } = schema as VariableSchema
    return { variable, option: optionName(variable), fallback: fallback === undefined ? 'unset' : String(fallback), description }
  })
  const width = Math.max(...rows.map((row) => row.variable.length))
  const lines = rows.map((row) => `  ${row.variable.padEnd(width)}  ${row.description} (default: ${row.fallback}; plugin option: ${row.option})`)
  return [
    `fastify-chat ${version}: a self-hosted chat service (WebSocket chat, rooms, presence, history)`,
    '',
    'Usage: npx fastify-chat          starts the service, configured by the environment',
    '       npx fastify-chat --help   this text',
    '       npx fastify-chat --version',
    '       npx fastify-chat move-to-postgres --from <sqlite file | redis://url> --to <postgres://url>',
    '                                 moves a stopped deployment\'s data from SQLite or Redis into PostgreSQL',
    '                                 (then start it with CHAT_DATABASE_URL; move-to-postgres --help says more)',
    '',
    'With no variable set it serves http://0.0.0.0:3000 on SQLite (./data/chat.sqlite) in dev mode.',
    'SIGTERM or SIGINT closes every connection with 1001 and exits within CHAT_SHUTDOWN_MS.',
    '',
    'Environment variables:',
    ...lines,
    ''
  ].join('\n')
}
