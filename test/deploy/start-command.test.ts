import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { LAUNCHER, pathWithThisNode, START_COMMAND, serviceCommand } from '../../bench/lib/service-command.ts'
import { exitOf, ROOT, spawnServer } from '../helper.ts'

const run = promisify(execFile)
const SMALL_YOUNG_GENERATION = '--max-semi-space-size=2'

/** What node was started with through the launcher: its own flags, and whether it kept the launcher's pid. */
async function launch (env: Record<string, string>, ...nodeArgs: string[]): Promise<{ execArgv: string[], samePid: boolean }> {
  const probe = 'console.log(JSON.stringify({ execArgv: process.execArgv.slice(0, -2), pid: process.pid }))'
  const { stdout } = await run('sh', ['-c', 'echo $$; exec sh "$0" "$@"', join(ROOT, LAUNCHER), ...nodeArgs, '-e', probe], {
    env: { PATH: pathWithThisNode(), ...env }, timeout: 30_000
  })
  const [shellPid, json] = stdout.trim().split('\n')
  const seen = JSON.parse(json!) as { execArgv: string[], pid: number }
  return { execArgv: seen.execArgv, samePid: String(seen.pid) === shellPid }
}

test('the container image runs the same command as npm start', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)
  assert.ok(cmd, 'the Dockerfile has an exec-form CMD')
  assert.deepEqual(JSON.parse(cmd[1]!), [...START_COMMAND])
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
  assert.equal(manifest.scripts.start, START_COMMAND.join(' '))
  assert.match(dockerfile, /^COPY bin \.\/bin$/m, 'the image holds the launcher')
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim())
  assert.ok(!ignored.some((line) => /^\/?bin\/?(\*.*)?$/.test(line)), 'the build context keeps bin/')
})

test('the bench refuses a start script other than the launcher, quoting it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'start-command-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  for (const start of ['node dist/src/server.js', 'tsx src/server.ts', 'sh bin/engine-node server.js']) {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ scripts: { start } }))
    assert.throws(() => serviceCommand(dir, 'x.js', []), (err: Error) => err.message.includes(`"${start}"`))
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ scripts: { start: 'sh  bin/engine-node dist/src/server.js' } }))
  assert.deepEqual(serviceCommand(dir, '/b/x.js', ['--inspect-port=9']), ['sh', join(dir, LAUNCHER), '--inspect-port=9', '/b/x.js'])
})

test('the launcher gives the embedded engine a small young generation and becomes node itself', async () => {
  for (const env of [{}, { REDIS_URL: '' }] as Array<Record<string, string>>) {
    const { execArgv, samePid } = await launch(env, '--no-warnings')
    assert.deepEqual(execArgv, [SMALL_YOUNG_GENERATION, '--no-warnings'], JSON.stringify(env))
    assert.ok(samePid, 'node runs in the launcher\'s process (exec), so it gets its signals')
  }
})

test('the launcher leaves the Redis engine on node\'s default young generation', async () => {
  assert.deepEqual((await launch({ REDIS_URL: 'redis://127.0.0.1:6379' }, '--no-warnings')).execArgv, ['--no-warnings'])
  assert.deepEqual((await launch({ REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_NAME: 'main' }, '--no-warnings')).execArgv, ['--no-warnings'],
    'Sentinel is the Redis engine too')
})

test('a young generation size given on the command line or in NODE_OPTIONS wins over the launcher\'s', async () => {
  assert.deepEqual((await launch({}, '--max-semi-space-size=8')).execArgv, ['--max-semi-space-size=8'])
  assert.deepEqual((await launch({ NODE_OPTIONS: '--max-semi-space-size=16' })).execArgv, [])
})

test('the service started through the launcher serves, and stops cleanly on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'launcher-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const server = await spawnServer(t, { CHAT_DB: join(dir, 'chat.sqlite') }, true, true)
  const cmdline = readFileSync(`/proc/${server.child.pid!}/cmdline`, 'utf8').split('\0')
  assert.equal(cmdline[1], SMALL_YOUNG_GENERATION, `node runs with the launcher's flag: ${cmdline.join(' ')}`)
  const health = await fetch(`${server.url}/healthz`)
  assert.equal(health.status, 200)
  server.child.kill('SIGTERM')
  const { code } = await exitOf(server, 30_000)
  assert.equal(code, 0, server.output())
})
