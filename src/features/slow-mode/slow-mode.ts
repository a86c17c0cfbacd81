import type { ChatHub } from '../../hub/chat-hub.ts'
import type { Connection } from '../../hub/connection.ts'
import type { RoomAdmin } from '../../rooms/room-admin.ts'
import type { SlowModeFrame } from './schemas.ts'
import type { SlowModeStore } from './store.ts'

/**
 * A room's interval read longer ago than this is read again: a node that had no member in the
 * room when a change was announced learns of it within this time.
 */
const MAX_AGE_MS = 10_000

export interface SlowModeOptions {
  hub: ChatHub
  roomAdmin: RoomAdmin
  store: SlowModeStore
}

/** What a message in a slow room gets when it comes too soon. */
export interface TooSoon { retryAfterMs: number, message: string }

/**
 * Slow mode: a room's `slowModeMs` is the least time between two messages of a member who is
 * not an owner or a moderator. Each node keeps each room's interval as it last read it, so a
 * message in a room without slow mode costs no storage read; the nodes forget a room's interval
 * when it changes (announced by the plugin). Only a message in a slow room claims its send
 * in the store, which on Redis is shared by every node.
 */
export class SlowMode {
  private readonly intervals = new Map<string, { intervalMs: number, readAt: number }>()
  private readonly loading = new Map<string, Promise<number>>()

  constructor (private readonly options: SlowModeOptions) {}

  /** A moderator's `slow_mode` frame: the room's interval changes on every node. */
  async setFrame (connection: Connection, frame: SlowModeFrame): Promise<void> {
    const { hub, roomAdmin } = this.options
    if (await hub.powers.roleOf(connection, frame.room) === undefined) {
      return hub.reply(connection, 'forbidden', `only an owner or a moderator of room ${frame.room} may set its slow mode`, frame.ref)
    }
    if (await roomAdmin.update(frame.room, { slowModeMs: frame.intervalMs }) === undefined) {
      return hub.reply(connection, 'not_found', `room ${frame.room} does not exist`, frame.ref)
    }
    connection.send(frame.ref === undefined ? { type: 'ack', room: frame.room } : { type: 'ack', room: frame.room, ref: frame.ref })
  }

  /**
   * Whether the connection's message in the room comes too soon: undefined lets it through
   * (and takes its time slot). Synchronous for a room known here to have no slow mode.
   */
  check (connection: Connection, room: string): TooSoon | undefined | Promise<TooSoon | undefined> {
    const known = this.intervals.get(room)
    if (known !== undefined && Date.now() - known.readAt <= MAX_AGE_MS) {
      return known.intervalMs === 0 ? undefined : this.claim(connection, room, known.intervalMs)
    }
    return this.load(room).then((intervalMs) => intervalMs === 0 ? undefined : this.claim(connection, room, intervalMs))
  }

  forget (room: string): void {
    this.intervals.delete(room)
  }

  private async claim (connection: Connection, room: string, intervalMs: number): Promise<TooSoon | undefined> {
    if (await this.options.hub.powers.roleOf(connection, room) !== undefined) return undefined
    const retryAfterMs = await this.options.store.claim(room, connection.user, intervalMs)
    if (retryAfterMs <= 0) return undefined
    return {
      retryAfterMs,
      message: `room ${room} is in slow mode (one message every ${seconds(intervalMs)}): wait ${seconds(retryAfterMs)} before sending again`
    }
  }

  private load (room: string): Promise<number> {
    let pending = this.loading.get(room)
    if (pending === undefined) {
      pending = this.options.roomAdmin.settings(room).then((record) => {
        // A room that does not exist has no slow mode: the message handler answers not_found.
        const intervalMs = record?.slowModeMs ?? 0
        this.intervals.set(room, { intervalMs, readAt: Date.now() })
        return intervalMs
      }).finally(() => this.loading.delete(room))
      this.loading.set(room, pending)
    }
    return pending
  }
}

function seconds (ms: number): string {
  const value = Math.ceil(ms / 100) / 10
  return `${value} s`
}
