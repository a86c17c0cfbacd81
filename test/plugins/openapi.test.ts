import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Validator } from '@seriousme/openapi-schema-validator'
import fc from 'fast-check'
import type { RouteOptions } from 'fastify'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { buildApp } from '../../src/app.ts'
import { configFrom } from '../../src/config.ts'
import { http, startServer, testDefaults, type TestServer } from '../helper.ts'
import { invalid, type JsonSchema, valid } from '../openapi-arbitraries.ts'

const ADMIN_TOKEN = 'contract-test-admin-token'
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const

interface Parameter { name: string, in: 'path' | 'query', required?: boolean, schema: JsonSchema }
interface MediaType { schema?: JsonSchema }
interface Operation {
  operationId?: string
  parameters?: Parameter[]
  requestBody?: { content: Record<string, MediaType> }
  responses: Record<string, { description: string, content?: Record<string, MediaType> }>
  security?: unknown[]
}
interface Document { openapi: string, info: { description?: string }, paths: Record<string, Partial<Record<typeof METHODS[number], Operation>>> }

async function documentOf (server: TestServer): Promise<Document> {
  const reply = await http(server.url, 'GET', '/docs/json')
  assert.equal(reply.status, 200)
  return reply.body as Document
}

function operations (document: Document): { path: string, method: string, operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] !== undefined).map((method) => ({ path, method, operation: item[method]! })))
}

test('the OpenAPI document is valid OpenAPI 3.1 and links the AsyncAPI document', async (t) => {
  const server = await startServer(t, { CHAT_ADMIN_TOKEN: ADMIN_TOKEN })
  const document = await documentOf(server)
  assert.equal(document.openapi, '3.1.0')
  const validator = new Validator()
  const result = await validator.validate(document as unknown as Parameters<Validator['validate']>[0])
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2))
  assert.match(document.info.description ?? '', /\/docs\/asyncapi\.json/)
})

test('every route the app registers is in the document with every status it answers', async (t) => {
  const routes: RouteOptions[] = []
  const app = await buildApp(configFrom({ ...testDefaults, CHAT_RATE_LIMIT: 600 }), { onRoute: (route) => { routes.push(route) } })
  t.after(() => app.close())
  await app.ready()
  const document = JSON.parse((await app.inject('/docs/json')).body) as Document

  let checked = 0
  for (const route of routes) {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((method) => method !== 'HEAD')
    const schema = (route.schema ?? {}) as { hide?: boolean, response?: Record<string, unknown>, params?: unknown, querystring?: unknown, body?: unknown }
    if (schema.hide === true) {
      // Only the WebSocket endpoint (described by the AsyncAPI document), the docs UI's own
      // files and the web pages' files (the static wildcard) stay out.
      assert.ok(route.url === '/ws' || route.url.startsWith('/docs') || route.url === '/*', `${route.url} is hidden from the document`)
      continue
    }
    const path = route.url.replace(/:(\w+)/g, '{$1}')
    for (const method of methods) {
      const name = `${method} ${route.url}`
      const operation = document.paths[path]?.[method.toLowerCase() as typeof METHODS[number]]
      assert.ok(operation !== undefined, `${name} is not in the document`)
      assert.ok(operation.operationId !== undefined, `${name} has an operationId`)
      const declared = Object.keys(schema.response ?? {}).sort()
      assert.deepEqual(Object.keys(operation.responses).sort(), declared, `${name}: documented statuses`)
      // What every route answers, whoever wrote it.
      assert.ok(declared.some((status) => status.startsWith('2')), `${name} documents its success`)
      assert.ok(declared.includes('503'), `${name} documents 503 while shutting down`)
      if (schema.params !== undefined || schema.querystring !== undefined || schema.body !== undefined) {
        assert.ok(declared.includes('400'), `${name} documents 400 for invalid input`)
      }
      if (schema.body !== undefined) assert.ok(declared.includes('413') && declared.includes('415'), `${name} documents 413 and 415`)
      if (operation.security !== undefined) assert.ok(declared.includes('401'), `${name} documents 401`)
      const limited = (route.config as { rateLimit?: boolean } | undefined)?.rateLimit !== false
      assert.equal(declared.includes('429'), limited, `${name}: 429 documented exactly when rate-limited`)
      checked++
    }
  }
  assert.ok(checked >= 14, `${checked} operations checked`)
  // And nothing in the document that the app does not serve.
  const served = new Set(routes.flatMap((route) => (Array.isArray(route.method) ? route.method : [route.method])
    .map((method) => `${method.toLowerCase()} ${route.url.replace(/:(\w+)/g, '{$1}')}`)))
  for (const { path, method } of operations(document)) assert.ok(served.has(`${method} ${path}`), `${method} ${path} is served`)
})

test('limit may be left out, before takes any integer up to 2^53 - 1, and past that the answer says why', async (t) => {
  const server = await startServer(t)
  assert.equal((await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'one' })).status, 404)
  assert.equal((await http(server.url, 'POST', '/rooms', { id: 'lobby' })).status, 201)
  assert.equal((await http(server.url, 'POST', '/rooms/lobby/messages', { text: 'one' })).status, 201)
  assert.equal((await http(server.url, 'GET', '/rooms')).status, 200)
  for (const before of ['1234567890123456', '9007199254740991', '0009']) {
    const reply = await http(server.url, 'GET', `/rooms/lobby/messages?before=${before}`)
    assert.equal(reply.status, 200, `before=${before}: ${reply.text}`)
    assert.deepEqual(reply.body.messages.map((message: { text: string }) => message.text), ['one'])
  }
  const tooBig = await http(server.url, 'GET', '/rooms/lobby/messages?before=9007199254740992')
  assert.equal(tooBig.status, 400)
  assert.match(tooBig.body.message, /9007199254740991/)
})

/** Sends one generated request; path and query values are written as text, as any client would. */
async function send (server: TestServer, path: string, method: string, request: GeneratedRequest, headers: Record<string, string>) {
  const url = path.replace(/\{(\w+)\}/g, (_match, name: string) => encodeURIComponent(String(request.path[name])))
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(request.query)) if (value !== undefined) query.set(name, String(value))
  const search = query.size === 0 ? '' : `?${query.toString()}`
  const response = await fetch(server.url + url + search, {
    method: method.toUpperCase(),
    headers: request.body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: request.body === undefined ? undefined : JSON.stringify(request.body)
  })
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() }
}

interface GeneratedRequest { path: Record<string, unknown>, query: Record<string, unknown>, body?: unknown }

const checkers = new Map<JsonSchema, ReturnType<typeof Compile>>()
const checkerOf = (schema: JsonSchema) => {
  let checker = checkers.get(schema)
  if (checker === undefined) checkers.set(schema, checker = Compile(schema as TSchema))
  return checker
}

/** The answer is one the operation documents: its status, its media type, a body of its schema. */
function assertDocumented (name: string, operation: Operation, answer: { status: number, contentType: string, text: string }): void {
  const documented = operation.responses[String(answer.status)]
  assert.ok(documented !== undefined, `${name} answered ${answer.status}, which it does not document: ${answer.text.slice(0, 300)}`)
  if (documented.content === undefined) {
    assert.equal(answer.text, '', `${name} ${answer.status} has no body`)
    return
  }
  const [mediaType, { schema } = {}] = Object.entries(documented.content)[0]!
  assert.ok(answer.contentType.startsWith(mediaType), `${name} ${answer.status}: ${answer.contentType}, documented ${mediaType}`)
  if (schema === undefined) return
  const body = mediaType === 'application/json' ? JSON.parse(answer.text) as unknown : answer.text
  const checker = checkerOf(schema)
  assert.ok(checker.Check(body), `${name} ${answer.status}: body does not match its schema: ${answer.text.slice(0, 300)} ${JSON.stringify([...checker.Errors(body)].slice(0, 3))}`)
}

/** Valid values for every parameter and the body; existing rooms and users are drawn often, so not every call is a 404. */
function validRequest (operation: Operation, known: string[]): fc.Arbitrary<GeneratedRequest> {
  const parameters = operation.parameters ?? []
  // Known ids only where the parameter is an id (a string); a seq draws from its own schema.
  const path = Object.fromEntries(parameters.filter((p) => p.in === 'path').map((p) =>
    [p.name, p.schema.type === 'string' ? fc.oneof(fc.constantFrom(...known), valid(p.schema)) : valid(p.schema)]))
  const query = Object.fromEntries(parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.required === true ? valid(p.schema) : fc.option(valid(p.schema), { nil: undefined })]))
  const body = operation.requestBody?.content['application/json']?.schema
  return fc.record({
    path: fc.record(path),
    query: fc.record(query),
    ...(body === undefined ? {} : { body: valid(body) })
  }) as fc.Arbitrary<GeneratedRequest>
}

/** A valid request with exactly one part broken: a path parameter, a query parameter or the body. */
function invalidRequest (operation: Operation, known: string[]): fc.Arbitrary<GeneratedRequest> | undefined {
  const parameters = operation.parameters ?? []
  const body = operation.requestBody?.content['application/json']?.schema
  const breaks: fc.Arbitrary<GeneratedRequest>[] = []
  for (const parameter of parameters) {
    // An empty path segment reaches another route (or none): that is not this operation's input.
    const bad = parameter.in === 'path' ? invalid(parameter.schema, true).filter((value) => value !== '') : invalid(parameter.schema, true)
    breaks.push(fc.tuple(validRequest(operation, known), bad).map(([request, value]) => ({
      ...request, [parameter.in]: { ...request[parameter.in], [parameter.name]: value }
    })))
  }
  if (body !== undefined) breaks.push(fc.tuple(validRequest(operation, known), invalid(body)).map(([request, value]) => ({ ...request, body: value })))
  return breaks.length === 0 ? undefined : fc.oneof(...breaks)
}

test('requests generated from the document get answers the document describes', async (t) => {
  const server = await startServer(t, { CHAT_ADMIN_TOKEN: ADMIN_TOKEN })
  const known = ['lobby', 'staff', 'alice']
  for (const id of ['lobby', 'staff']) assert.equal((await http(server.url, 'POST', '/rooms', { id }, admin)).status, 201)
  const document = await documentOf(server)
  const settings = { seed: 20240611, numRuns: 30, endOnFailure: true }

  for (const { path, method, operation } of operations(document)) {
    const name = `${method.toUpperCase()} ${path}`
    // Valid input is never refused as invalid, and never breaks the server.
    await fc.assert(fc.asyncProperty(validRequest(operation, known), async (request) => {
      const answer = await send(server, path, method, request, admin)
      assertDocumented(name, operation, answer)
      assert.ok(![400, 413, 415].includes(answer.status) && answer.status < 500, `${name} refused valid input ${JSON.stringify(request)}: ${answer.status} ${answer.text}`)
    }), settings)

    const broken = invalidRequest(operation, known)
    if (broken !== undefined) {
      await fc.assert(fc.asyncProperty(broken, async (request) => {
        const answer = await send(server, path, method, request, admin)
        assertDocumented(name, operation, answer)
        assert.ok(answer.status >= 400 && answer.status < 500, `${name} accepted invalid input ${JSON.stringify(request)}: ${answer.status}`)
      }), settings)
    }

    if (operation.security !== undefined) {
      const answer = await send(server, path, method, fc.sample(validRequest(operation, known), { seed: 1, numRuns: 1 })[0]!, {})
      assertDocumented(name, operation, answer)
      assert.equal(answer.status, 401, `${name} without the admin token`)
    }
  }
})
