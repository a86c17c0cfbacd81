import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { startNodeFlags } from '../../bench/lib/service-command.ts'
import { ROOT } from '../helper.ts'

test('the container image runs the service with the same node flags as npm start', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)
  assert.ok(cmd, 'the Dockerfile has an exec-form CMD')
  assert.deepEqual(JSON.parse(cmd[1]!), ['node', ...startNodeFlags(ROOT), 'dist/src/server.js'])
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
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ scripts: { start: 'node --max-semi-space-size=2 --no-warnings dist/src/server.js' } }))
  assert.deepEqual(startNodeFlags(dir), ['--max-semi-space-size=2', '--no-warnings'])
})
