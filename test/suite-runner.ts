import { spawn } from 'node:child_process'
import { ROOT } from './helper.ts'

export interface SuiteRun {
  code: number | null
  output: string
  /** A figure of the runner's summary (`# pass 12`), NaN when absent. */
  count: (name: string) => number
  /** The TAP lines of the tests that failed. */
  failures: string[]
}

/**
 * Runs test files in a runner of their own (not a child of this one, which NODE_TEST_CONTEXT
 * would make it) with `env` added, the REQUIRE_* variables going along, and reads its summary.
 */
export async function runSuite (files: string[], env: NodeJS.ProcessEnv): Promise<SuiteRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
  delete childEnv.NODE_TEST_CONTEXT
  const child = spawn(process.execPath, ['--test-concurrency=1', '--test-timeout=300000', '--test-force-exit', '--import', 'tsx', '--test', ...files], {
    cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return {
    code,
    output,
    count: (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output)?.[1] ?? NaN),
    failures: output.split('\n').filter((line) => /^\s*not ok /.test(line))
  }
}
