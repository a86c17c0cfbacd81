import type { Static } from 'typebox'
import { type Config, ConfigError, ConfigSchema, loadConfig } from './config.ts'

type Settings = Static<typeof ConfigSchema>

/** `JWT_SECRET` → `jwtSecret`. */
type Camel<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Lowercase<Head>}${Capitalize<Camel<Tail>>}` : Lowercase<S>
/** A variable's option name: camelCase, without `CHAT_` (`CHAT_HISTORY_LIMIT` → `historyLimit`, `REDIS_URL` → `redisUrl`). */
type OptionName<K extends string> = K extends `CHAT_${infer Rest}` ? Camel<Rest> : Camel<K>

/**
 * What the app around the service decides, not the service: where it listens, its logger and
 * which proxies it trusts (Fastify's own options). These variables have no option.
 */
const APP_SETTINGS = ['PORT', 'HOST', 'LOG_LEVEL', 'CHAT_TRUST_PROXY'] as const
type AppSetting = typeof APP_SETTINGS[number]

/**
 * The plugin's options: every environment variable of the service but the app's own, named in
 * camelCase without `CHAT_`, of the type the variable's schema gives (a list may also be an
 * array). One schema, ConfigSchema, types and validates both.
 */
export type ChatOptions = {
  [K in Exclude<keyof Settings, AppSetting> as OptionName<K>]?: Settings[K] | (Settings[K] extends string ? string[] : never)
}

/** The option name of a variable, as ChatOptions types it. */
export function optionName (variable: string): string {
  const words = variable.replace(/^CHAT_/, '').toLowerCase().split('_')
  return words[0] + words.slice(1).map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('')
}

const variables = Object.keys(ConfigSchema.properties).filter((key) => !(APP_SETTINGS as readonly string[]).includes(key))
const variableOf = new Map(variables.map((variable) => [optionName(variable), variable]))
const appSettingOf = new Map(APP_SETTINGS.map((variable) => [optionName(variable), variable]))

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
      const appSetting = appSettingOf.get(name)
      throw new ConfigError(appSetting === undefined
        ? `option ${name}: not an option of fastify-chat; the options are ${[...variableOf.keys()].join(', ')}`
        : `option ${name}: ${appSetting} is the app's to decide (Fastify's listen, logger and trustProxy), not an option of the plugin`)
    }
    if (Array.isArray(value) && value.every((entry) => typeof entry === 'string')) env[variable] = value.join(',')
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') env[variable] = String(value)
    else throw new ConfigError(`option ${name} (${variable}): expected a string, a number or a boolean, not ${typeof value}`)
  }
  try {
    return loadConfig({ ...env, LOG_LEVEL: 'info' }, { appAuth })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    // The message starts with the variable; the app's author knows the option.
    throw new ConfigError(err.message.replace(/^([A-Z_]+):/, (_whole, variable: string) => `option ${optionName(variable)} (${variable}):`))
  }
}
