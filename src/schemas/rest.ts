import Type, { type Static } from 'typebox'
import { ID_PATTERN, Id, IsoTime, LIMIT_DEFAULT, Message, MessageSeq } from './common.ts'

export const RoomName = Type.String({ minLength: 1, maxLength: 200 })
/** Messages a room keeps; 0: every one (on an engine with a database: refused on Redis alone). */
export const HistoryLimit = Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'messages kept; 0: all of them (not on Redis alone)' })
/** Retention: days after which a room's messages are removed (fractions allowed; up to 100 years). */
export const RetentionDays = Type.Number({ exclusiveMinimum: 0, maximum: 36_500, description: 'messages older than this many days are removed (not on Redis alone)' })
/** Slow mode: the least time between two messages of a member who is not a moderator; 0 turns it off; at most a day. */
export const SlowModeMs = Type.Integer({
  minimum: 0, maximum: 86_400_000, description: 'slow mode: least ms between two messages of a member who is not a moderator; 0: off'
})

export const Room = Type.Object({
  id: Id,
  name: Type.String(),
  private: Type.Boolean(),
  historyLimit: Type.Integer(),
  slowModeMs: SlowModeMs,
  retentionDays: Type.Union([Type.Number(), Type.Null()], { description: 'days after which messages are removed; null: CHAT_RETENTION_DAYS (unset: kept)' }),
  online: Type.Integer({ minimum: 0, description: 'distinct users online in the room' }),
  createdAt: IsoTime
})
export type Room = Static<typeof Room>

export const CreateRoomBody = Type.Object({
  id: Id,
  name: Type.Optional(RoomName),
  private: Type.Optional(Type.Boolean()),
  historyLimit: Type.Optional(HistoryLimit),
  slowModeMs: Type.Optional(SlowModeMs),
  retentionDays: Type.Optional(RetentionDays)
})

export const PatchRoomBody = Type.Object({
  name: Type.Optional(RoomName),
  private: Type.Optional(Type.Boolean()),
  // A type list, not a union: Fastify's ajv coerces 0 to null in a union's null branch, so
  // {historyLimit: 0} would silently reset the limit instead of being refused.
  historyLimit: Type.Optional(Type.Unsafe<number | null>({
    type: ['integer', 'null'], minimum: 0, maximum: 1_000_000, description: 'null: back to CHAT_HISTORY_LIMIT; 0: every message (not on Redis alone)'
  })),
  slowModeMs: Type.Optional(SlowModeMs),
  retentionDays: Type.Optional(Type.Unsafe<number | null>({
    type: ['number', 'null'], exclusiveMinimum: 0, maximum: 36_500, description: 'null: back to CHAT_RETENTION_DAYS'
  }))
})

/**
 * An id in a URL path: the id pattern less "." and "..", which URL clients resolve as dot
 * segments (`/rooms/../online` is `/online`), so no request can carry them to a route.
 * Written without lookahead so that every JSON Schema tool can read it.
 */
export const PATH_ID_PATTERN = '^(?:[A-Za-z0-9_.-]{3,64}|[A-Za-z0-9_-][A-Za-z0-9_.-]?|\\.[A-Za-z0-9_-])$'
const PathId = (what: string) => Type.String({
  pattern: PATH_ID_PATTERN,
  description: `${what} id, matching ${ID_PATTERN}; "." and ".." cannot be written in a URL path`
})
export const RoomParams = Type.Object({ id: PathId('room') })
export const GrantParams = Type.Object({ id: PathId('room'), user: PathId('user') })

/** Optional in the query: the validator gives it its default. */
const QueryLimit = Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: LIMIT_DEFAULT, description: `${LIMIT_DEFAULT} when absent` }))

export const ListRoomsQuery = Type.Object({
  limit: QueryLimit,
  cursor: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'nextCursor of the previous page: rooms after this id' }))
})
export const RoomList = Type.Object({
  rooms: Type.Array(Room),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'the cursor of the next page; null on the last page' })
})

export const MessagesQuery = Type.Object({
  before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'only messages with a lower seq' })),
  limit: QueryLimit
})
export const MessageList = Type.Object({ messages: Type.Array(Message) })

export const MessageParams = Type.Object({ id: Id, seq: MessageSeq })
export const UserParams = Type.Object({ user: Id })

export const OnlineList = Type.Object({
  users: Type.Array(Type.Object({ user: Id, connections: Type.Integer({ minimum: 1 }) }))
})

/** The error body every failure has; `description` says when it is answered. */
export const httpError = (description?: string) => Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String()
}, description === undefined ? {} : { description })
export const HttpError = httpError()

/** Every error status a route may answer, and when. */
const ERROR_STATUSES = {
  400: 'The path, query or body does not match this document; the message says what is wrong',
  401: 'Missing or wrong admin token (only when CHAT_ADMIN_TOKEN is set)',
  404: 'No such room',
  409: 'A room with this id exists',
  413: 'The body is larger than 64 KiB',
  415: 'The body is not application/json',
  429: 'Too many requests from this IP (CHAT_RATE_LIMIT a minute); retry after the seconds in Retry-After',
  500: 'Storage failed; the call may be retried',
  503: 'The server is shutting down'
} as const
export type ErrorStatus = keyof typeof ERROR_STATUSES

/** Response schemas for the given error statuses: the error body, described for each. */
export function errorResponses<S extends ErrorStatus> (...statuses: S[]): Record<S, typeof HttpError> {
  return Object.fromEntries(statuses.map((status) => [status, httpError(ERROR_STATUSES[status])])) as Record<S, typeof HttpError>
}

/** A response with no body (fastify-swagger documents `null` as none). */
export const NoContent = (description: string) => Type.Null({ description })

export { Message }
