import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** The service's entry, relative to the project root. */
export const SERVICE_ENTRY = 'dist/src/server.js'

/** The launcher that starts node with the flags the configured engine wants (see its comments). */
export const LAUNCHER = 'bin/engine-node'

/** `npm start`'s command, and the Dockerfile's CMD: the launcher running the entry. */
export const START_COMMAND = ['sh', LAUNCHER, SERVICE_ENTRY] as const

/**
 * The command that starts a build of the service as `npm start` does, through the launcher of
 * `root`, with `nodeArgs` for node (the bench's --inspect-port) and `entry` as the script.
 * Throws when package.json's start script is not START_COMMAND, so the bench cannot drift from
 * what users run.
 */
export function serviceCommand (root: string, entry: string, nodeArgs: string[]): string[] {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } }
  const start = manifest.scripts?.start ?? ''
  if (start.trim().split(/\s+/).join(' ') !== START_COMMAND.join(' ')) {
    throw new Error(`package.json's start script should be "${START_COMMAND.join(' ')}", not "${start}"`)
  }
  return ['sh', join(root, LAUNCHER), ...nodeArgs, entry]
}

/** PATH with this node's directory first: the launcher runs `node` from PATH, and should run this one. */
export function pathWithThisNode (): string {
  return `${dirname(process.execPath)}:${process.env.PATH ?? ''}`
}
