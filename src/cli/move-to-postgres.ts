import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { moveToPostgres } from './move/move.ts'
import { MoveError, reason } from './move/source.ts'

export const MOVE_USAGE = `Usage: fastify-chat move-to-postgres --from <sqlite file | redis://url> --to <postgres://url>

Moves a deployment's data from SQLite (CHAT_DB) or Redis (REDIS_URL; a single Redis or a node of
a Redis Cluster) into PostgreSQL (CHAT_DATABASE_URL). Stop the service first, run this, then start
the service with CHAT_DATABASE_URL. The target is brought to this release's schema, must hold no
room, and receives everything in one transaction: all of it, or after a failure nothing.
Exit status: 0 moved, 1 refused or failed (one line on stderr says why), 2 bad usage.
`

/** The options of the command line: --from and --to (or --from=… and --to=…), or --help. */
export function parseArgs (args: readonly string[]): { from: string, to: string } | 'help' | string {
  const values: Record<string, string> = {}
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--help' || arg === '-h') return 'help'
    const match = /^--(from|to)(?:=(.*))?$/.exec(arg)
    if (match === null) return `unknown argument ${arg}`
    const value = match[2] ?? args[++i]
    if (value === undefined || value === '') return `--${match[1]!} needs a value`
    values[match[1]!] = value
  }
  if (values.from === undefined) return '--from is missing'
  if (values.to === undefined) return '--to is missing'
  return { from: values.from, to: values.to }
}

/** Runs the command; resolves its exit status. Progress goes to stdout, the one line of a failure to stderr. */
export async function main (args: readonly string[]): Promise<number> {
  const parsed = parseArgs(args)
  if (parsed === 'help') {
    process.stdout.write(MOVE_USAGE)
    return 0
  }
  if (typeof parsed === 'string') {
    process.stderr.write(`move-to-postgres: ${parsed}\n${MOVE_USAGE}`)
    return 2
  }
  try {
    await moveToPostgres({ ...parsed, out: (line) => process.stdout.write(`${line}\n`) })
    return 0
  } catch (err) {
    process.stderr.write(`move-to-postgres: ${err instanceof MoveError ? err.message : `failed: ${reason(err)}`}\n`)
    return 1
  }
}

/** Whether this file is the program (`node --import tsx src/cli/move-to-postgres.ts …`), not imported (bin/fastify-chat.js). */
function isProgram (): boolean {
  try {
    return process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href
  } catch {
    return false
  }
}

if (isProgram()) {
  // Exits once done: a connection's retry timer must not keep the process alive.
  process.exit(await main(process.argv.slice(2)))
}
