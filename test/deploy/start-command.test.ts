import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { startNodeFlags } from '../../bench/lib/service-command.ts'
import { ROOT } from '../helper.ts'

/** Allocates with survivors until the young generation has grown as far as it may, and prints its size. */
const GROW_NEW_SPACE = `
const v8 = require('node:v8')
const kept = []
for (let i = 0; i < 2e6; i++) { kept.push({ i, s: 'x' + i }); if (kept.length > 40000) kept.splice(0, 20000) }
process.stdout.write(String(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))`

function newSpaceBytes (flags: string[]): number {
  return Number(execFileSync(process.execPath, [...flags, '-e', GROW_NEW_SPACE], { encoding: 'utf8', timeout: 60_000 }))
}

test('the container image runs the service with the same node flags as npm start', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)
  assert.ok(cmd, 'the Dockerfile has an exec-form CMD')
  assert.deepEqual(JSON.parse(cmd[1]!), ['node', ...startNodeFlags(ROOT), 'dist/src/server.js'])
})

test('the start flags cap the young generation at 2 MiB semi-spaces, where node would grow it further', () => {
  const flags = startNodeFlags(ROOT)
  assert.ok(flags.includes('--max-semi-space-size=2'), `start flags: ${flags.join(' ')}`)
  // Two semi-spaces of 2 MiB; the same allocations without the flag grow it past that.
  assert.ok(newSpaceBytes(flags) <= 4 * 1024 * 1024)
  assert.ok(newSpaceBytes([]) > 4 * 1024 * 1024)
})

test('a start script that is not "node [--flag…] dist/src/server.js" is refused with the script quoted', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'start-command-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  for (const start of ['tsx src/server.ts', 'node --max-semi-space-size=2 server.js', 'node -r x dist/src/server.js']) {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ scripts: { start } }))
    assert.throws(() => startNodeFlags(dir), (err: Error) => err.message.includes(`"${start}"`))
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ scripts: { start: 'node  dist/src/server.js' } }))
  assert.deepEqual(startNodeFlags(dir), [])
})
