import { spawnSync } from 'node:child_process'
import type { TestContext } from 'node:test'
import { requireCommand } from './redis-helper.ts'

/** Where Debian's prometheus package ships promtool; .ci/run extracts it and puts it on PATH. */
const HINT = 'apt-get download prometheus && dpkg-deb -x prometheus_*.deb DIR, then put DIR/usr/bin on PATH'

/** Whether promtool can run; skips the test without it unless REQUIRE_PROMTOOL=1, which fails it instead. */
export function requirePromtool (t: TestContext): boolean {
  return requireCommand(t, 'promtool', 'REQUIRE_PROMTOOL', HINT)
}

/** Runs promtool; resolves its exit status and everything it printed. */
export function promtool (args: string[], input?: string): { status: number | null, output: string } {
  const result = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 60_000 })
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` }
}
