import type { Static } from 'typebox'
import type { Message } from '../../client/protocol.ts'
import type { OnlineList, Room, RoomList } from '../../schemas/rest.ts'
import type { FailedEvent, FailedList } from '../../schemas/webhooks.ts'

export type { FailedEvent, Message, Room }

export type SanctionKind = 'ban' | 'mute'
/** A ban or a mute as GET /rooms/:id/bans (or mutes) lists it. */
export interface Sanction { user: string, until: string | null, reason: string | null }

/** What GET /users/:user/export answers. */
export interface UserExport {
  user: string
  exportedAt: string
  messages: Message[]
  readState: { room: string, readSeq: number }[]
  grants: string[]
  roles: { room: string, role: string }[]
  pushSubscriptions: unknown[]
}

/** An open report, as GET /reports lists it. */
export interface Report { id: string, room: string, seq: number, message: Message | null, reporter: string, reason: string | null, time: string }
export type RoomPage = Static<typeof RoomList>
export type OnlineUser = Static<typeof OnlineList>['users'][number]

/** What `POST /rooms` takes and `PATCH /rooms/:id` changes; `historyLimit: null` goes back to the default. */
export interface RoomFields {
  name?: string
  private?: boolean
  historyLimit?: number | null
  slowModeMs?: number
}

/** A call the server refused (or never answered: status 0), with the message its error body gave. */
export class ApiError extends Error {
  constructor (readonly status: number, readonly error: string, message: string) {
    super(message)
    this.name = 'ApiError'
  }
}

/** The `{statusCode, error, message}` body of every REST error, or what can be said without one. */
async function errorOf (response: Response): Promise<ApiError> {
  let body: unknown
  try {
    body = await response.json()
  } catch {
    body = undefined
  }
  const fields = typeof body === 'object' && body !== null ? body as Record<string, unknown> : {}
  const error = typeof fields.error === 'string' ? fields.error : response.statusText
  const message = typeof fields.message === 'string' ? fields.message : `the server answered ${response.status}`
  return new ApiError(response.status, error, message)
}

const path = (...parts: (string | number)[]) => parts.map((part) => encodeURIComponent(String(part))).join('/')

/**
 * The operators' REST API, called from the page with the admin token when there is one. A 401
 * is reported to `onUnauthorized` before the call fails, so the page can ask for a token.
 */
export class AdminApi {
  constructor (
    private readonly base: URL,
    private readonly token: () => string | undefined,
    private readonly onUnauthorized: () => void
  ) {}

  /** A fetch of `target` (relative to the service's root), its network failure an ApiError too. */
  private async fetch (target: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(new URL(target, this.base), { ...init, cache: 'no-store' })
    } catch (err) {
      throw new ApiError(0, 'Network error', `the server cannot be reached (${(err as Error).message})`)
    }
  }

  private async send (method: string, target: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {}
    const token = this.token()
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await this.fetch(target, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    if (response.ok) return response
    const error = await errorOf(response)
    if (response.status === 401) this.onUnauthorized()
    throw error
  }

  private async json<T> (method: string, target: string, body?: unknown): Promise<T> {
    return await (await this.send(method, target, body)).json() as T
  }

  listRooms (limit: number, cursor?: string): Promise<RoomPage> {
    const query = new URLSearchParams({ limit: String(limit) })
    if (cursor !== undefined) query.set('cursor', cursor)
    return this.json('GET', `rooms?${query}`)
  }

  createRoom (id: string, fields: RoomFields): Promise<Room> {
    return this.json('POST', 'rooms', { id, ...fields })
  }

  getRoom (id: string): Promise<Room> {
    return this.json('GET', path('rooms', id))
  }

  updateRoom (id: string, fields: RoomFields): Promise<Room> {
    return this.json('PATCH', path('rooms', id), fields)
  }

  async deleteRoom (id: string): Promise<void> {
    await this.send('DELETE', path('rooms', id))
  }

  async online (id: string): Promise<OnlineUser[]> {
    return (await this.json<Static<typeof OnlineList>>('GET', path('rooms', id, 'online'))).users
  }

  async grant (id: string, user: string): Promise<void> {
    await this.send('PUT', path('rooms', id, 'grants', user))
  }

  async revoke (id: string, user: string): Promise<void> {
    await this.send('DELETE', path('rooms', id, 'grants', user))
  }

  /** The newest `limit` messages below `before` (all when absent), ascending. */
  async messages (id: string, limit: number, before?: number): Promise<Message[]> {
    const query = new URLSearchParams({ limit: String(limit) })
    if (before !== undefined) query.set('before', String(before))
    return (await this.json<{ messages: Message[] }>('GET', `${path('rooms', id, 'messages')}?${query}`)).messages
  }

  async deleteMessage (id: string, seq: number): Promise<void> {
    await this.send('DELETE', path('rooms', id, 'messages', seq))
  }

  /** The room's bans or mutes in force. */
  async sanctions (id: string, kind: SanctionKind): Promise<Sanction[]> {
    const list = kind === 'ban' ? 'bans' : 'mutes'
    return (await this.json<Record<string, Sanction[]>>('GET', path('rooms', id, list)))[list] ?? []
  }

  async sanction (id: string, kind: SanctionKind, user: string, body: { durationMs?: number, reason?: string }): Promise<void> {
    await this.send('PUT', path('rooms', id, kind === 'ban' ? 'bans' : 'mutes', user), body)
  }

  async lift (id: string, kind: SanctionKind, user: string): Promise<void> {
    await this.send('DELETE', path('rooms', id, kind === 'ban' ? 'bans' : 'mutes', user))
  }

  /** Open reports, oldest first. */
  async reports (): Promise<Report[]> {
    return (await this.json<{ reports: Report[] }>('GET', 'reports')).reports
  }

  async resolveReport (id: string, action: 'dismiss' | 'delete'): Promise<void> {
    await this.send('POST', path('reports', id, 'resolve'), { action })
  }

  /** Everything the service keeps about a user (GET /users/:user/export). */
  async exportUser (user: string): Promise<UserExport> {
    return await this.json<UserExport>('GET', path('users', user, 'export'))
  }

  async deleteUserMessages (user: string): Promise<void> {
    await this.send('DELETE', path('users', user, 'messages'))
  }

  /** Parked webhook events; undefined from a server that has no webhook routes (404). */
  async failedWebhooks (): Promise<FailedEvent[] | undefined> {
    try {
      return (await this.json<Static<typeof FailedList>>('GET', 'webhooks/failed')).events
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined
      throw err
    }
  }

  async retryWebhook (eventId: string): Promise<void> {
    await this.send('POST', path('webhooks', 'failed', eventId, 'retry'))
  }

  /** The Prometheus scrape: public, so no token is sent. */
  async metrics (): Promise<string> {
    const response = await this.fetch('metrics')
    if (!response.ok) throw await errorOf(response)
    return response.text()
  }
}

/** An error as a sentence for the page. */
export function describeError (err: unknown): string {
  if (err instanceof ApiError) return err.status === 0 ? err.message : `${err.message} (${err.status} ${err.error})`
  return err instanceof Error ? err.message : String(err)
}
