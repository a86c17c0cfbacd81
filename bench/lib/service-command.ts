import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The service's entry, relative to the project root. */
export const SERVICE_ENTRY = 'dist/src/server.js'

/**
 * The node flags `npm start` runs the service with, read from package.json's start script, so
 * that the bench runs the service as users do (the Dockerfile's CMD holds the same flags; a test
 * keeps the two equal).
 */
export function startNodeFlags (root: string): string[] {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } }
  const start = manifest.scripts?.start ?? ''
  const words = start.trim().split(/\s+/)
  if (words[0] !== 'node' || words.at(-1) !== SERVICE_ENTRY || words.slice(1, -1).some((word) => !word.startsWith('--'))) {
    throw new Error(`package.json's start script should be "node [--flag…] ${SERVICE_ENTRY}", not "${start}"`)
  }
  return words.slice(1, -1)
}
