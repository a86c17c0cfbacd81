/**
 * Writes src/client/protocol.ts, the client SDK's types of the wire protocol, from the schemas
 * that validate frames (the core's and every feature's, composed). The SDK may import nothing of
 * the server but schemas; a feature's schemas live in its folder, so its types reach the SDK
 * through this file. `npm run generate` rewrites it; a test checks it is up to date.
 *
 *   node --import tsx scripts/client-protocol.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { compile, type JSONSchema } from 'json-schema-to-typescript'
import type { TSchema } from 'typebox'
import { serviceProtocol } from '../src/features/protocol.ts'

export const CLIENT_PROTOCOL_FILE = new URL('../src/client/protocol.ts', import.meta.url)

const pascal = (type: string) => type.split('_').map((part) => part[0]!.toUpperCase() + part.slice(1)).join('')

type Json = Record<string, unknown>

/** Nested objects titled like a definition become references to it, so each type is written once. */
function referencing (schema: unknown, titles: Set<string>, root = true): unknown {
  if (Array.isArray(schema)) return schema.map((item) => referencing(item, titles, false))
  if (typeof schema !== 'object' || schema === null) return schema
  const object = schema as Json
  if (!root && typeof object.title === 'string' && titles.has(object.title)) return { $ref: `#/$defs/${object.title}` }
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, referencing(value, titles, false)]))
}

/** The text of src/client/protocol.ts for the service's protocol as it now is. */
export async function clientProtocol (): Promise<string> {
  const protocol = serviceProtocol
  const plain = (schema: TSchema, title?: string) => ({ ...JSON.parse(JSON.stringify(schema)) as Json, ...(title === undefined ? {} : { title }) })
  const defs: Record<string, Json> = { Message: plain(protocol.message) }
  const clientNames = Object.keys(protocol.clientFrames).map((type) => [type, `${pascal(type)}Frame`] as const)
  const serverNames = Object.keys(protocol.serverFrames)
    .map((type) => [type, `${pascal(type)}${type in protocol.clientFrames ? 'OutFrame' : 'Frame'}`] as const)
  for (const [type, name] of clientNames) defs[name] = plain(protocol.clientFrames[type]!, name)
  for (const [type, name] of serverNames) defs[name] = plain(protocol.serverFrames[type]!, name)
  // Named objects nested in frames (RoomUnread…) become definitions of their own too.
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(collect)
    if (typeof value !== 'object' || value === null) return
    const object = value as Json
    if (typeof object.title === 'string' && !(object.title in defs)) defs[object.title] = object
    Object.values(object).forEach(collect)
  }
  Object.values(defs).forEach(collect)
  const titles = new Set(Object.keys(defs))
  const referenced = Object.fromEntries(Object.entries(defs).map(([name, schema]) => [name, referencing(schema, titles)]))
  const text = await compile({ title: 'Protocol', type: 'object', properties: {}, additionalProperties: false, $defs: referenced } as JSONSchema,
    'Protocol', {
      additionalProperties: false,
      unreachableDefinitions: true,
      bannerComment: '',
      style: { semi: false, singleQuote: true, printWidth: 140, trailingComma: 'none' }
    })
  const body = text
    .replace(/export interface Protocol \{\}\n/, '')
    .replace(/\/\*\*\n \* This interface was referenced by `Protocol`'s JSON-Schema\n \* via the `definition` "[^"]+"\.\n \*\/\n/g, '')
    .replace(/ \*\n \* This interface was referenced by `Protocol`'s JSON-Schema\n \* via the `definition` "[^"]+"\.\n/g, '')
  return `/* The wire protocol's types for the client SDK, written by scripts/client-protocol.ts from the
 * schemas that validate frames (npm run generate). Do not edit by hand. */
${body.trim()}

/** Any frame the client sends. */
export type ClientFrame = ${clientNames.map(([, name]) => name).join(' | ')}

/** Any frame the server sends. */
export type ServerFrame = ${serverNames.map(([, name]) => name).join(' | ')}

/** The code of an error frame. */
export type ErrorCode = ErrorFrame['code']
`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = await clientProtocol()
  if (process.argv.includes('--check')) {
    if (readFileSync(CLIENT_PROTOCOL_FILE, 'utf8') !== text) {
      process.stderr.write('src/client/protocol.ts is out of date: run npm run generate\n')
      process.exit(1)
    }
  } else {
    writeFileSync(CLIENT_PROTOCOL_FILE, text)
  }
}
