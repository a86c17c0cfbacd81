import fc from 'fast-check'

/** The JSON Schema keywords the OpenAPI document uses for parameters and bodies. */
export interface JsonSchema {
  type?: string | string[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  anyOf?: JsonSchema[]
  [keyword: string]: unknown
}

/** fast-check draws 32-bit integers; beyond, safe integers. */
const INT32_MAX = 2 ** 31 - 1
/** Long strings prove nothing more here and slow every run. */
const LONGEST = 80

/**
 * Values a schema accepts. Only the keywords the document uses are known: a schema with any
 * other construct throws, so a new kind of schema makes the contract test say what it lacks
 * rather than pass without testing it.
 */
export function valid (schema: JsonSchema): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const)
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]))
  if (schema.anyOf !== undefined) return fc.oneof(...schema.anyOf.map(valid))
  if (Array.isArray(schema.type)) return fc.oneof(...schema.type.map((type) => valid({ ...schema, type })))
  switch (schema.type) {
    case 'null': return fc.constant(null)
    case 'boolean': return fc.boolean()
    case 'integer': {
      const min = schema.minimum ?? -INT32_MAX
      const max = schema.maximum ?? Number.MAX_SAFE_INTEGER
      const small = fc.integer({ min: Math.max(min, -INT32_MAX), max: Math.min(max, INT32_MAX) })
      if (max <= INT32_MAX) return small
      // Large values, up to the maximum: an integer of 16 digits is as valid as one of 2.
      return fc.oneof(small, fc.maxSafeNat().filter((n) => n >= min && n <= max), fc.constant(max))
    }
    case 'number': {
      // A number in (exclusiveMinimum or minimum, maximum]: fractions included.
      const low = (schema.exclusiveMinimum as number | undefined) ?? schema.minimum ?? -1e9
      const high = schema.maximum ?? 1e9
      return fc.double({ min: low, max: high, noNaN: true, noDefaultInfinity: true }).filter((n) => n > low || schema.exclusiveMinimum === undefined)
    }
    case 'string': {
      if (schema.pattern !== undefined) {
        const pattern = new RegExp(schema.pattern)
        return fc.stringMatching(pattern).filter((text) => lengthFits(schema, text))
      }
      const minLength = schema.minLength ?? 0
      return fc.string({ minLength, maxLength: Math.max(minLength, Math.min(schema.maxLength ?? LONGEST, LONGEST)) })
    }
    case 'array': {
      const minLength = (schema.minItems as number | undefined) ?? 0
      const maxLength = Math.max(minLength, Math.min((schema.maxItems as number | undefined) ?? 5, 5))
      const items = valid(schema.items as JsonSchema)
      return schema.uniqueItems === true ? fc.uniqueArray(items, { minLength, maxLength }) : fc.array(items, { minLength, maxLength })
    }
    case 'object': {
      const properties = schema.properties ?? {}
      const arbitraries = Object.fromEntries(Object.entries(properties).map(([key, property]) => [key, valid(property)]))
      return fc.record(arbitraries, { requiredKeys: schema.required ?? [] })
    }
    default:
      throw new Error(`no generator for schema ${JSON.stringify(schema)}`)
  }
}

function lengthFits (schema: JsonSchema, text: string): boolean {
  return text.length >= (schema.minLength ?? 0) && text.length <= (schema.maxLength ?? Infinity)
}

/** Values a schema refuses, of the kinds a client gets wrong: wrong type, out of range, bad pattern. */
export function invalid (schema: JsonSchema, inText = false): fc.Arbitrary<unknown> {
  const wrong: fc.Arbitrary<unknown>[] = []
  // A choice of constants (`anyOf` of `const` or `enum`, as the document writes literals): a value that is none of them.
  const constants = (option: JsonSchema): unknown[] | undefined => option.const !== undefined ? [option.const] : Array.isArray(option.enum) ? option.enum as unknown[] : undefined
  const choices = schema.anyOf?.every((option) => constants(option) !== undefined) === true ? schema.anyOf.flatMap((option) => constants(option)!) : undefined
  if (choices !== undefined) return fc.constantFrom('none-of-these', 5, null).filter((value) => !choices.includes(value))
  const types = Array.isArray(schema.type) ? schema.type : [schema.type]
  if (types.includes('integer')) {
    if (schema.minimum !== undefined) wrong.push(fc.integer({ min: schema.minimum - 1000, max: schema.minimum - 1 }))
    if (schema.maximum !== undefined) wrong.push(fc.constant(schema.maximum + 1), fc.constant(schema.maximum * 10))
    wrong.push(fc.constant(2.5), fc.constant('ten'))
    if (!inText) wrong.push(fc.constant('7'), fc.constant(true))
  }
  if (types.includes('number')) {
    const low = (schema.exclusiveMinimum as number | undefined) ?? schema.minimum
    if (low !== undefined) wrong.push(fc.constant(low - 1), ...(schema.exclusiveMinimum !== undefined ? [fc.constant(low)] : []))
    if (schema.maximum !== undefined) wrong.push(fc.constant(schema.maximum + 1))
    wrong.push(fc.constant('ten'))
    if (!inText) wrong.push(fc.constant('7'), fc.constant(true))
  }
  if (types.includes('string')) {
    if (schema.pattern !== undefined) wrong.push(fc.constantFrom('has space', 'semi;colon', 'x'.repeat(65), 'ünïcode'))
    if (schema.maxLength !== undefined && schema.maxLength < 10_000) wrong.push(fc.constant('y'.repeat(schema.maxLength + 1)))
    if ((schema.minLength ?? 0) > 0 || schema.pattern !== undefined) wrong.push(fc.constant(''))
    if (!inText) wrong.push(fc.constant(5), fc.constant(null), fc.constant(['a']))
  }
  if (types.includes('boolean')) wrong.push(fc.constant(inText ? 'yes' : 'true'), fc.constant(1))
  if (types.includes('array')) {
    const items = valid(schema.items as JsonSchema)
    if (typeof schema.minItems === 'number' && schema.minItems > 0) wrong.push(fc.array(items, { maxLength: schema.minItems - 1 }))
    if (typeof schema.maxItems === 'number') wrong.push(fc.array(items, { minLength: schema.maxItems + 1, maxLength: schema.maxItems + 3 }))
    wrong.push(fc.constant('text'), fc.constant({}), fc.tuple(invalid(schema.items as JsonSchema)).map((bad) => bad))
  }
  if (types.includes('object')) {
    wrong.push(fc.constant([]), fc.constant('text'), fc.constant(42))
    for (const key of schema.required ?? []) {
      // A required property missing, the others valid.
      wrong.push(valid(schema).map((value) => {
        const copy = { ...(value as Record<string, unknown>) }
        delete copy[key]
        return copy
      }))
    }
    for (const [key, property] of Object.entries(schema.properties ?? {})) {
      // One property wrong, the others valid.
      wrong.push(fc.tuple(valid(schema), invalid(property)).map(([value, bad]) => ({ ...(value as object), [key]: bad })))
    }
  }
  if (wrong.length === 0) throw new Error(`no invalid values for schema ${JSON.stringify(schema)}`)
  return fc.oneof(...wrong)
}
