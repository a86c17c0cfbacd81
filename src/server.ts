import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig } from './config.ts'

/** The process: validate the configuration, listen, and shut down cleanly on signals. */
async function main (): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }

  let app
  try {
    app = await buildApp(config)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    process.stderr.write(err instanceof ConfigError ? `configuration error: ${message}\n` : `start-up failed: ${message}\n`)
    process.exit(1)
  }

  closeWithGrace({ delay: config.CHAT_SHUTDOWN_MS }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  })

  try {
    await app.listen({ port: config.PORT, host: config.HOST })
  } catch (err) {
    app.log.fatal({ err }, 'could not listen')
    process.exit(1)
  }
}

await main()
