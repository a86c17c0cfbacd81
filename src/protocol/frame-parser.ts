import type { TObject } from 'typebox'
import { Compile } from 'typebox/compile'
import { MessageText } from '../schemas/frame-base.ts'

/** A client frame once validated: its type, its ref, and the fields its schema allows. */
export interface ClientFrame {
  type: string
  ref?: string
  [field: string]: unknown
}

export type ParseResult =
  | { ok: true, frame: ClientFrame }
  | { ok: false, message: string, ref?: string }

interface ErrorLike { instancePath: string, message: string, keyword: string }

const hasOwn = Object.prototype.hasOwnProperty

function describe (type: string, error: ErrorLike | undefined): string {
  if (error === undefined) return `invalid ${type} frame`
  const field = error.instancePath.replace(/^\//, '').replaceAll('/', '.')
  if (error.keyword === 'required') return `${type}: ${error.message}`
  if (field === '') return `${type}: ${error.message}`
  return `${type}: ${field} ${error.message}`
}

function characterCount (text: string, limit: number): number {
  // Code units overcount only surrogate pairs, so the exact count is needed only near the limit.
  if (text.length <= limit) return text.length
  let count = 0
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- counts code points without building an array
  for (const _ of text) count++
  return count
}

/** The properties of a frame declared with MessageText: texts held to CHAT_MAX_TEXT characters. */
function textFields (schema: TObject): string[] {
  return Object.entries(schema.properties).filter(([, property]) => property === MessageText).map(([name]) => name)
}

/**
 * Turns raw WebSocket data into a client frame, or a `bad_request` message that says what was
 * wrong. `frames` is every client frame schema by type (the core's and the features', composed):
 * validators are compiled once per parser, and each frame is checked only against the schema its
 * `type` names, so errors are precise and the hot path is one check.
 */
export function createFrameParser (options: { maxText: number, frames: Record<string, TObject> }) {
  const validators = new Map(Object.entries(options.frames).map(([type, schema]) => [type, { check: Compile(schema), texts: textFields(schema) }]))
  const known = [...validators.keys()].join(', ')

  return function parseFrame (data: string): ParseResult {
    let value: unknown
    try {
      value = JSON.parse(data)
    } catch {
      return { ok: false, message: 'frame is not valid JSON' }
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, message: 'frame must be a JSON object' }
    }
    const object = value as Record<string, unknown>
    // A ref is echoed only when it is itself valid; an invalid one is the error.
    let ref: string | undefined
    if (hasOwn.call(object, 'ref')) {
      const candidate = object.ref
      if (typeof candidate !== 'string') return { ok: false, message: 'ref must be a string' }
      if (candidate.length > 64) return { ok: false, message: 'ref must be at most 64 characters' }
      ref = candidate
    }
    const type = hasOwn.call(object, 'type') ? object.type : undefined
    if (typeof type !== 'string') return { ok: false, message: 'frame needs a string type', ref }
    const validator = validators.get(type)
    if (validator === undefined) {
      return { ok: false, message: `unknown frame type "${type.slice(0, 32)}"; expected one of ${known}`, ref }
    }
    if (!validator.check.Check(object)) {
      const first = [...validator.check.Errors(object)][0] as ErrorLike | undefined
      return { ok: false, message: describe(type, first), ref }
    }
    for (const field of validator.texts) {
      const text = object[field]
      if (typeof text === 'string' && characterCount(text, options.maxText) > options.maxText) {
        return { ok: false, message: `${type}: ${field} must be at most ${options.maxText} characters`, ref }
      }
    }
    return { ok: true, frame: object as unknown as ClientFrame }
  }
}

export type FrameParser = ReturnType<typeof createFrameParser>
