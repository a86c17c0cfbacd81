import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { PUBLIC_DIR, WEB_SOURCE_DIR } from '../public-dir.ts'

/** The page served at `/`; every other page is served at `/<page>/`. */
const ROOT_PAGE = 'chat'

/** Browsers the pages are built for: WebSocket, ES2020 and CSS custom properties everywhere. */
const TARGETS = ['chrome100', 'firefox100', 'safari15', 'edge100']

/** Every `src/web/<page>/` that has an index.html. */
export function pageNames (): string[] {
  return readdirSync(WEB_SOURCE_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(WEB_SOURCE_DIR, entry.name, 'index.html')))
    .map((entry) => entry.name)
    .sort()
}

/** Where a page's files go: the root page at the top of `outDir`, the others in folders of their own. */
export function pageOutDir (page: string, outDir = PUBLIC_DIR): string {
  return page === ROOT_PAGE ? outDir : join(outDir, page)
}

/**
 * Writes through a temporary file and a rename, so a server (or a test running alongside
 * another build) never serves a half-written file.
 */
function writeAtomically (path: string, contents: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true })
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`
  writeFileSync(temporary, contents)
  renameSync(temporary, path)
}

/**
 * Bundles each page: main.ts (with the client SDK it imports) into main.js, style.css into
 * style.css, and a service worker, sw.ts, into sw.js when the page has one, minified with
 * source maps; index.html is copied as is.
 */
export async function buildPages (outDir = PUBLIC_DIR): Promise<string[]> {
  const written: string[] = []
  for (const page of pageNames()) {
    const source = join(WEB_SOURCE_DIR, page)
    const target = pageOutDir(page, outDir)
    const entryPoints = ['main.ts', 'style.css'].map((file) => join(source, file)).filter((file) => existsSync(file))
    const common = {
      bundle: true,
      platform: 'browser',
      target: TARGETS,
      minify: true,
      sourcemap: 'linked',
      sourcesContent: false,
      legalComments: 'none',
      logLevel: 'silent',
      write: false
    } as const
    const result = await build({ ...common, entryPoints, outdir: target, format: 'esm' })
    const worker = join(source, 'sw.ts')
    // A service worker is a classic script unless registered as a module, which not every browser can.
    const workerResult = existsSync(worker) ? await build({ ...common, entryPoints: [worker], outdir: target, format: 'iife' }) : undefined
    for (const file of [...result.outputFiles, ...workerResult?.outputFiles ?? []]) {
      writeAtomically(file.path, file.contents)
      written.push(file.path)
    }
    const html = join(target, 'index.html')
    writeAtomically(html, readFileSync(join(source, 'index.html')))
    written.push(html)
  }
  return written
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const files = await buildPages()
  process.stdout.write(files.map((file) => `  ${relative(process.cwd(), file)}\n`).join(''))
}
