import type { FastifySchemaCompiler } from 'fastify'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import Value from 'typebox/value'

interface PropertySchema { type?: string }

/**
 * Turns the text of query strings and path parameters into the numbers and booleans their
 * schemas ask for, only where the text is exactly such a value ("2.5" is not an integer).
 */
function convertText (schema: TSchema, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  const properties = (schema as { properties?: Record<string, PropertySchema> }).properties ?? {}
  const converted: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  for (const [key, property] of Object.entries(properties)) {
    const text = converted[key]
    if (typeof text !== 'string') continue
    // Any number of digits: one past Number.MAX_SAFE_INTEGER then fails the schema's maximum,
    // with a message saying so, instead of "must be integer".
    if (property.type === 'integer' && /^-?\d+$/.test(text)) converted[key] = Number(text)
    else if (property.type === 'number' && /^-?\d+(\.\d+)?$/.test(text)) converted[key] = Number(text)
    else if (property.type === 'boolean' && (text === 'true' || text === 'false')) converted[key] = text === 'true'
  }
  return converted
}

/**
 * Request validation from the TypeBox schemas. A JSON body is checked as sent: a wrong type
 * is a 400, never silently converted (`{"id": 5}` is not room "5"). Query strings and path
 * parameters arrive as text, so they are converted and given their defaults first.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema)
  return (value: unknown) => {
    const input = httpPart === 'body' ? value : Value.Default(schema, convertText(schema, value))
    if (check.Check(input)) return { value: input }
    return { error: [...check.Errors(input)] as never }
  }
}
