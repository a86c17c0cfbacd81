import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package's root: the nearest folder with a package.json, from source (src/) and from dist/src/ alike. */
function packageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
  return dir
}

/** Where `npm run build:web` writes the bundled pages and `@fastify/static` serves them from. */
export const PUBLIC_DIR = join(packageRoot(), 'dist', 'public')

/** The source folder of the pages: one `src/web/<page>/` each. */
export const WEB_SOURCE_DIR = join(packageRoot(), 'src', 'web')
