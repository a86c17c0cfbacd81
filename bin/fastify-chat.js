#!/usr/bin/env node
// `npx fastify-chat`: starts the service as `npm start` does (bin/engine-node, in JavaScript so
// that it runs wherever npx does): node with the flags that suit the engine, then the server.
// The server runs in a child node because V8 sizes its young generation once, at start-up;
// BENCHMARKS.md has why the embedded engine gets --max-semi-space-size=2.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = new URL('../', import.meta.url)
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
const args = process.argv.slice(2)

// `npx fastify-chat move-to-postgres --from … --to …`: moves a SQLite or Redis deployment's data
// into PostgreSQL (src/cli/move-to-postgres.ts), in this process, and exits with its status.
if (args[0] === 'move-to-postgres') {
  const { main } = await import(new URL('dist/src/cli/move-to-postgres.js', root).href)
  process.exit(await main(args.slice(1)))
}
if (args.includes('--help') || args.includes('-h')) {
  const { helpText } = await import(new URL('dist/src/cli/help.js', root).href)
  process.stdout.write(helpText(version))
  process.exit(0)
}
if (args.includes('--version') || args.includes('-v')) {
  process.stdout.write(`${version}\n`)
  process.exit(0)
}
if (args.length > 0) {
  process.stderr.write(`fastify-chat: unknown argument ${args[0]}; the service is configured by environment variables (fastify-chat --help lists them)\n`)
  process.exit(2)
}

const embedded = !process.env.REDIS_URL && !process.env.REDIS_SENTINELS
const flags = embedded && !`${process.env.NODE_OPTIONS ?? ''}`.includes('--max-semi-space-size') ? ['--max-semi-space-size=2'] : []
// A process group of its own: a terminal's Ctrl-C then reaches it once, forwarded from here
// (twice, the service would take the second as "exit now").
const server = spawn(process.execPath, [...flags, fileURLToPath(new URL('dist/src/server.js', root))], { stdio: 'inherit', detached: true })
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP']
// The service shuts down cleanly on these; this process waits for it and exits as it did.
for (const signal of signals) process.on(signal, () => server.kill(signal))
// Started by npx or a shell that is gone (killed alone: npx does not pass SIGTERM on), this
// process is adopted by another: the service stops as if it had been told to.
const parent = process.ppid
const orphaned = setInterval(() => { if (process.ppid !== parent) server.kill('SIGTERM') }, 1000)
orphaned.unref()
server.on('exit', (code, signal) => {
  if (signal === null) process.exit(code ?? 1)
  for (const name of signals) process.removeAllListeners(name)
  process.kill(process.pid, signal)
})
