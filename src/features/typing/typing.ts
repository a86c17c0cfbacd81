import type { ChatHub } from '../../hub/chat-hub.ts'
import type { Connection } from '../../hub/connection.ts'
import type { TypingFrame } from './schemas.ts'
import type { TypingState, TypingStore } from './store.ts'

/** The contract's expiry: a user types until 5 s after its last typing frame. */
export const TYPING_TTL_MS = 5000

/**
 * Typing indicators. The set of typing users of a room lives in the typing store (this process,
 * or Redis with an expiry per user, so a node that dies cannot leave anyone typing); every change
 * of the set is published once, as the `typing` event, and members get it as a `typing` frame.
 * Nothing is durable.
 *
 * Expiry has no event of its own, so each node with members in a room where someone types keeps
 * one timer for the room, set to the next expiry the engine reports; when it fires, the node asks
 * the engine to drop expired entries. With several nodes the first to ask publishes the change.
 */
export class TypingIndicators {
  private readonly hub: ChatHub
  private readonly store: TypingStore
  private readonly ttlMs: number
  /** Per room, the last typing set published, for the stops a message or a leave implies. */
  private readonly typing = new Map<string, Set<string>>()
  /** Per room, when this node next looks for expired entries. */
  private readonly timers = new Map<string, { at: number, timer: NodeJS.Timeout }>()
  private closed = false

  constructor (hub: ChatHub, store: TypingStore, options: { ttlMs?: number } = {}) {
    this.hub = hub
    this.store = store
    this.ttlMs = options.ttlMs ?? TYPING_TTL_MS
  }

  /** The room's typing set changed (on any node): remember it, and look again when it may expire. */
  seen (room: string, users: string[]): void {
    if (users.length === 0) this.typing.delete(room)
    else this.typing.set(room, new Set(users))
    // Another node changed the set: look again when its newest entry may have expired.
    if (users.length > 0) this.schedule(room, this.ttlMs)
  }

  /** A user's message, or its last connection leaving, stops its typing. */
  stopIfTyping (room: string, user: string): void {
    if (this.typing.get(room)?.has(user) !== true) return
    const state = this.store.change(room, user, 'stop', this.ttlMs)
    if (state instanceof Promise) state.then((settled) => this.apply(room, settled), () => {})
    else this.apply(room, state)
  }

  /** The room was deleted. */
  forget (room: string): void {
    this.store.forget(room)
    this.drop(room)
  }

  /** Stops following the room's typing here. */
  private drop (room: string): void {
    this.typing.delete(room)
    const current = this.timers.get(room)
    if (current !== undefined) clearTimeout(current.timer)
    this.timers.delete(room)
  }

  /** Synchronous on the local engine (most frames are typing frames); waits on Redis. */
  handle (connection: Connection, frame: TypingFrame): void | Promise<void> {
    const { room, ref } = frame
    if (!this.hub.isMember(connection, room)) {
      return this.hub.reply(connection, 'not_member', `join room ${room} before typing in it`, ref)
    }
    const active = frame.active ?? true
    if (active) this.mark(room, connection.user)
    const state = this.store.change(room, connection.user, active ? 'start' : 'stop', this.ttlMs)
    if (state instanceof Promise) return state.then((settled) => this.apply(room, settled))
    this.apply(room, state)
  }

  close (): void {
    this.closed = true
    for (const { timer } of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
    this.typing.clear()
  }

  /** Records a user as typing before the engine's event comes back, so a quick message still stops it. */
  private mark (room: string, user: string): void {
    let users = this.typing.get(room)
    if (users === undefined) this.typing.set(room, users = new Set())
    users.add(user)
  }

  private apply (room: string, state: TypingState): void {
    if (state.changed !== undefined) this.seen(room, state.changed)
    if (state.nextExpiryMs !== undefined) this.schedule(room, state.nextExpiryMs)
  }

  /** Sets the room's timer to fire in `ms`, unless it already fires sooner. */
  private schedule (room: string, ms: number): void {
    if (this.closed) return
    const at = Date.now() + ms
    const current = this.timers.get(room)
    if (current !== undefined && current.at <= at) return
    if (current !== undefined) clearTimeout(current.timer)
    const timer = setTimeout(() => this.expire(room), ms + 1).unref()
    this.timers.set(room, { at, timer })
  }

  private expire (room: string): void {
    this.timers.delete(room)
    if (!this.hub.hasMembers(room)) return this.drop(room)
    Promise.resolve(this.store.change(room, '', 'sweep', 0)).then((state) => this.apply(room, state), () => {
      // The engine did not answer (Redis away): try again at the next expiry.
      this.schedule(room, this.ttlMs)
    })
  }
}
