import { Compile } from 'typebox/compile'
import type { ClientFrame, ClientFrameType } from '../schemas/frames.ts'
import { clientFrameSchemas } from '../schemas/frames.ts'

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

/**
 * Turns raw WebSocket data into a typed client frame, or a `bad_request` message that says
 * what was wrong. Validators are compiled once per parser; each frame is checked only
 * against the schema its `type` names, so errors are precise and the hot path is one check.
 */
export function createFrameParser (options: { maxText: number }) {
  const validators = new Map(
    Object.entries(clientFrameSchemas).map(([type, schema]) => [type, Compile(schema)])
  )
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
    const validator = hasOwn.call(clientFrameSchemas, type) ? validators.get(type) : undefined
    if (validator === undefined) {
      return { ok: false, message: `unknown frame type "${type.slice(0, 32)}"; expected one of ${known}`, ref }
    }
    if (!validator.Check(object)) {
      const first = [...validator.Errors(object)][0] as ErrorLike | undefined
      return { ok: false, message: describe(type, first), ref }
    }
    const frame = object as unknown as ClientFrame
    if ((frame.type === 'message' || frame.type === 'edit') && characterCount(frame.text, options.maxText) > options.maxText) {
      return { ok: false, message: `${frame.type}: text must be at most ${options.maxText} characters`, ref }
    }
    return { ok: true, frame }
  }
}

export type FrameParser = ReturnType<typeof createFrameParser>
export type { ClientFrameType }
