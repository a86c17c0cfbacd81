import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { ROOT, startServer } from '../helper.ts'

const run = promisify(execFile)
const CLIENT_DIR = join(ROOT, 'dist', 'src', 'client')

/** The client as `npm run build` builds it: tsc with tsconfig.client.json into dist/. */
async function buildClient (): Promise<void> {
  await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.client.json'], { cwd: ROOT })
}

/** The first ```js block after `heading` in a Markdown file. */
function codeBlock (file: string, heading: string): string {
  const text = readFileSync(join(ROOT, file), 'utf8')
  const section = text.slice(text.indexOf(heading))
  const match = /```js\n([\s\S]*?)```/.exec(section)
  assert.ok(text.includes(heading) && match !== null, `${file} has a js block under ${heading}`)
  return match[1]!
}

test('the package exports its client as fastify-chat/client: built ESM with types, nothing from the server', { timeout: 120_000 }, async (t) => {
  await buildClient()

  await t.test('the built files import only each other', () => {
    const files = readdirSync(CLIENT_DIR).filter((file) => file.endsWith('.js'))
    assert.ok(files.includes('index.js'))
    const seen = new Set<string>()
    for (const file of files) {
      const code = readFileSync(join(CLIENT_DIR, file), 'utf8')
      const specifiers = [...code.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!)
      for (const specifier of specifiers) {
        seen.add(specifier)
        assert.match(specifier, /^\.\/[a-z-]+\.js$/, `${file} imports ${specifier}`)
      }
      assert.doesNotMatch(code, /\bnode:|\brequire\(|\bprocess\.|\bBuffer\b/, `${file} uses nothing Node-only`)
    }
    assert.ok(seen.has('./chat-client.js'), 'the scan sees the imports')
    const declarations = readFileSync(join(CLIENT_DIR, 'index.d.ts'), 'utf8')
    assert.match(declarations, /export \{ ChatClient \}/)
  })

  await t.test('import("fastify-chat/client") resolves through the package exports', async () => {
    const probe = 'const m = await import("fastify-chat/client"); console.log(typeof m.ChatClient, typeof m.ChatError)'
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: ROOT })
    assert.equal(stdout.trim(), 'function function')
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> }
    assert.equal(manifest.exports['./client']!.types, './dist/src/client/index.d.ts')
  })

  await t.test('the README\'s ten-line example runs as written against a real server', async (t) => {
    const example = codeBlock('README.md', '## The client SDK')
    assert.equal(example.split('\n').filter((line) => line.trim() !== '').length, 10, 'ten lines')
    assert.equal(codeBlock('docs/client.md', '## Example'), example, 'docs/client.md shows the same example')
    const server = await startServer(t)
    // Inside the package, as a script in the checkout is, so `fastify-chat/client` resolves.
    const file = join(ROOT, 'dist', 'readme-example.mjs')
    writeFileSync(file, example)
    const { stdout } = await run(process.execPath, [file], { cwd: ROOT, env: { ...process.env, CHAT_URL: server.wsUrl }, timeout: 30_000 })
    assert.deepEqual(stdout.trim().split('\n'), [
      'in lobby at seq 0, online: alice',
      '#1 alice: hello from the SDK',
      'stored as #1'
    ])
  })
})
