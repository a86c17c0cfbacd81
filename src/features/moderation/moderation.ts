import type { ChatHub } from '../../hub/chat-hub.ts'
import type { Connection } from '../../hub/connection.ts'
import type { Refusal } from '../../hub/room-access.ts'
import type { RoomAdmin } from '../../rooms/room-admin.ts'
import type { SanctionsCache } from './sanctions-cache.ts'
import type { BanFrame, KickFrame, MuteFrame, Sanction, SanctionKind, UnbanFrame, UnmuteFrame } from './schemas.ts'
import type { SanctionRecord, SanctionsStore } from './store.ts'

export interface ModerationOptions {
  hub: ChatHub
  roomAdmin: RoomAdmin
  store: SanctionsStore
  cache: SanctionsCache
  /** Tells every node with members in the room that its sanctions changed. */
  announce: (room: string) => void
}

/** What an operator or a moderator asks. */
interface SanctionRequest { room: string, user: string, kind: SanctionKind, durationMs?: number, reason?: string }

/**
 * Kicks, bans and mutes: by a room's owners and moderators over WebSocket (checked at each
 * frame), by operators over REST. A moderator may not act on an owner. A ban kicks the user's
 * connections in the room on every node and refuses its joins until it ends; a mute refuses its
 * `message`, `react` and `typing` frames. Both are durable and the same on every node.
 */
export class Moderation {
  constructor (private readonly options: ModerationOptions) {}

  async kick (connection: Connection, frame: KickFrame): Promise<void> {
    const refused = await this.mayActOn(connection, frame.room, frame.user)
    if (refused !== undefined) return this.options.hub.reply(connection, refused.code, refused.message, frame.ref)
    if (!await this.options.roomAdmin.exists(frame.room)) return this.options.hub.reply(connection, 'not_found', `room ${frame.room} does not exist`, frame.ref)
    await this.kickOut(frame.room, frame.user, frame.reason ?? `kicked by ${connection.user}`)
    this.ack(connection, frame.room, frame.ref)
  }

  async sanctionFrame (connection: Connection, kind: SanctionKind, frame: BanFrame | MuteFrame): Promise<void> {
    const refused = await this.mayActOn(connection, frame.room, frame.user)
    if (refused !== undefined) return this.options.hub.reply(connection, refused.code, refused.message, frame.ref)
    const done = await this.sanction({ room: frame.room, user: frame.user, kind, durationMs: frame.durationMs, reason: frame.reason ?? `by ${connection.user}` })
    if (!done) return this.options.hub.reply(connection, 'not_found', `room ${frame.room} does not exist`, frame.ref)
    this.ack(connection, frame.room, frame.ref)
  }

  async liftFrame (connection: Connection, kind: SanctionKind, frame: UnbanFrame | UnmuteFrame): Promise<void> {
    const refused = await this.mayActOn(connection, frame.room, frame.user)
    if (refused !== undefined) return this.options.hub.reply(connection, refused.code, refused.message, frame.ref)
    if (!await this.lift(frame.room, frame.user, kind)) return this.options.hub.reply(connection, 'not_found', `room ${frame.room} does not exist`, frame.ref)
    this.ack(connection, frame.room, frame.ref)
  }

  /** Bans or mutes (REST and frames); false when the room does not exist. A ban kicks at once. */
  async sanction (request: SanctionRequest): Promise<boolean> {
    const until = request.durationMs === undefined ? null : Date.now() + request.durationMs
    const record: SanctionRecord = { user: request.user, kind: request.kind, until, reason: request.reason ?? null }
    if (!await this.options.store.set(request.room, record)) return false
    this.changed(request.room)
    if (request.kind === 'ban') await this.kickOut(request.room, request.user, `banned ${untilText(until)}${request.reason === undefined ? '' : `: ${request.reason}`}`)
    return true
  }

  /** The user's connections in the room get `kicked` on every node; webhooks get `member.kicked`. */
  private async kickOut (room: string, user: string, reason: string): Promise<void> {
    await this.options.store.kicked(room, user, reason)
    this.options.roomAdmin.kick(room, user, reason)
  }

  /** Lifts a ban or a mute; false when the room does not exist. */
  async lift (room: string, user: string, kind: SanctionKind): Promise<boolean> {
    if (!await this.options.roomAdmin.exists(room)) return false
    await this.options.store.remove(room, user, kind)
    this.changed(room)
    return true
  }

  /** The room's bans or mutes in force, as REST lists them. */
  async list (room: string, kind: SanctionKind): Promise<Sanction[]> {
    const records = await this.options.cache.list(room, kind)
    return records.map((record) => ({ user: record.user, until: record.until === null ? null : new Date(record.until).toISOString(), reason: record.reason }))
  }

  /** A join of a banned user: forbidden, saying until when (read from storage: a join is where a ban must hold). */
  async joinRefusal (connection: Connection, room: string): Promise<Refusal | undefined> {
    const ban = await this.options.cache.get(room, connection.user, 'ban', true)
    if (ban === undefined) return undefined
    return { code: 'forbidden', message: `${connection.user} is banned from room ${room} ${untilText(ban.until)}${ban.reason === null ? '' : ` (${ban.reason})`}` }
  }

  /** The refusal of a frame of a muted user (message, react, typing); synchronous when the room's sanctions are known here. */
  muteRefusal (connection: Connection, room: string): Refusal | undefined | Promise<Refusal | undefined> {
    const peeked = this.options.cache.peek(room, connection.user, 'mute')
    if (peeked !== 'stale') return refusalOfMute(connection.user, room, peeked)
    return this.options.cache.get(room, connection.user, 'mute').then((mute) => refusalOfMute(connection.user, room, mute))
  }

  forget (room: string): void {
    this.options.cache.forget(room)
  }

  private changed (room: string): void {
    this.options.cache.forget(room)
    this.options.announce(room)
  }

  /** Whether the connection may act on `target` in the room: an owner or a moderator, and a moderator not on an owner. */
  private async mayActOn (connection: Connection, room: string, target: string): Promise<Refusal | undefined> {
    const role = await this.options.hub.powers.roleOf(connection, room)
    if (role === undefined) return { code: 'forbidden', message: `only an owner or a moderator of room ${room} may do this` }
    if (role === 'moderator' && await this.options.hub.powers.roleOf({ user: target, moderator: false }, room) === 'owner') {
      return { code: 'forbidden', message: `${target} is an owner of room ${room}: a moderator may not act on an owner` }
    }
    return undefined
  }

  private ack (connection: Connection, room: string, ref: string | undefined): void {
    connection.send(ref === undefined ? { type: 'ack', room } : { type: 'ack', room, ref })
  }
}

function untilText (until: number | null): string {
  return until === null ? 'until lifted' : `until ${new Date(until).toISOString()}`
}

function refusalOfMute (user: string, room: string, mute: SanctionRecord | undefined): Refusal | undefined {
  if (mute === undefined) return undefined
  return { code: 'forbidden', message: `${user} is muted in room ${room} ${untilText(mute.until)}${mute.reason === null ? '' : ` (${mute.reason})`}` }
}
