import type { Static } from 'typebox'
import { type Config, ConfigError, ConfigSchema, loadConfig } from './config.ts'

type Settings = Static<typeof ConfigSchema>

/** `JWT_SECRET` → `jwtSecret`. */
type Camel<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Lowercase<Head>}${Capitalize<Camel<Tail>>}` : Lowercase<S>
/** A variable's option name: camelCase, without `CHAT_` (`CHAT_HISTORY_LIMIT` → `historyLimit`, `REDIS_URL` → `redisUrl`). */
type OptionName<K extends string> = K extends `CHAT_${infer Rest}` ? Camel<Rest> : Camel<K>

/**
 * The plugin's options: every environment variable of the service, named in camelCase without
 * `CHAT_`, of the type the variable's schema gives (a list may also be an array). One schema,
 * ConfigSchema, types and validates both. Three are the app's to carry out, accepted, validated
 * and without effect: `port` and `host` (the app's `listen`) and `trustProxy` (the app's
 * Fastify option); `logLevel` sets the level of the service's routes (Fastify's `logLevel` of a
 * plugin) in the app's logger.
 */
export type ChatOptions = Omit<{
  // A free-form string may be given as an array of parts; a choice of words (logLevel) may not.
  [K in keyof Settings as OptionName<K>]?: Settings[K] | (Settings[K] extends string ? (string extends Settings[K] ? string[] : never) : never)
}, 'logLevel'> & {
  /** LOG_LEVEL's words (its schema is a union built from a list, which TypeBox types loosely). */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
}

/** The option name of a variable, as ChatOptions types it. */
export function optionName (variable: string): string {
  const words = variable.replace(/^CHAT_/, '').toLowerCase().split('_')
  return words[0] + words.slice(1).map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('')
}

const variableOf = new Map(Object.keys(ConfigSchema.properties).map((variable) => [optionName(variable), variable]))

/**
 * The service's configuration from the plugin's options, validated as the environment is (the
 * same schema, defaults and checks). Throws a ConfigError naming the option (and its variable).
 */
export function configFromOptions (options: Record<string, unknown>, { appAuth = false } = {}): Config {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue
    const variable = variableOf.get(name)
    if (variable === undefined) {
      throw new ConfigError(`option ${name}: not an option of fastify-chat; the options are ${[...variableOf.keys()].join(', ')}`)
    }
    if (Array.isArray(value) && value.every((entry) => typeof entry === 'string')) env[variable] = value.join(',')
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') env[variable] = String(value)
    else throw new ConfigError(`option ${name} (${variable}): expected a string, a number or a boolean, not ${typeof value}`)
  }
  try {
    return loadConfig(env, { appAuth })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    // The message starts with the variable; the app's author knows the option.
    throw new ConfigError(err.message.replace(/^([A-Z_]+):/, (_whole, variable: string) => `option ${optionName(variable)} (${variable}):`))
  }
}
