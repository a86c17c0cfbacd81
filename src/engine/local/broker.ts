import type { LocalPresence } from './sqlite-store.ts'
import type { ChatBroker, OnlineUser, RoomEvent } from '../types.ts'

export interface LocalBrokerOptions {
  /** Told when a user's first connection joins a room, or its last one leaves (for events out). */
  onPresence?: (room: string, event: 'join' | 'leave', user: string) => void
}

export interface LocalBroker extends ChatBroker {
  /** Presence as it is now, for the store's events. */
  presence: LocalPresence
}

/**
 * Fan-out and presence for a single process: events go straight to the subscribers, and
 * presence is a count of connections per user per room.
 */
export function createLocalBroker (options: LocalBrokerOptions = {}): LocalBroker {
  const listeners: ((event: RoomEvent) => void)[] = []
  const presence = new Map<string, Map<string, number>>()

  function publish (event: RoomEvent): void {
    for (const listener of listeners) listener(event)
  }

  return {
    deliversAtOnce: true,
    presence: {
      users: (room) => presence.get(room)?.size ?? 0,
      has: (room, user) => presence.get(room)?.has(user) === true
    },
    publish,
    subscribe (listener) {
      listeners.push(listener)
    },
    async presenceAdd (room, user) {
      let users = presence.get(room)
      if (users === undefined) presence.set(room, users = new Map())
      const count = users.get(user) ?? 0
      users.set(user, count + 1)
      if (count === 0) options.onPresence?.(room, 'join', user)
      return count === 0
    },
    async presenceRemove (room, user) {
      const users = presence.get(room)
      const count = users?.get(user)
      if (users === undefined || count === undefined) return false
      if (count > 1) {
        users.set(user, count - 1)
        return false
      }
      users.delete(user)
      if (users.size === 0) presence.delete(room)
      options.onPresence?.(room, 'leave', user)
      return true
    },
    async online (room) {
      const users = presence.get(room)
      const result: OnlineUser[] = []
      if (users !== undefined) for (const [user, connections] of users) result.push({ user, connections })
      return result
    },
    async presenceClear (room) {
      presence.delete(room)
    },
    async ready () {
      return true
    },
    async close () {
      listeners.length = 0
      presence.clear()
    }
  }
}

/** What records a presence event in the outbox (a store's recordEvent). */
interface PresenceRecorder { recordEvent (type: string, room: string, time: string, data: object): unknown }

/**
 * A local broker whose presence changes are recorded as `presence.join` and `presence.leave`
 * events by the store it is then given (the store needs the broker's presence to be built, so
 * it comes second; no join can happen before it exists).
 */
export function createRecordingBroker (): { broker: LocalBroker, recordInto: (store: PresenceRecorder) => void } {
  let recorder: PresenceRecorder | undefined
  const broker = createLocalBroker({
    onPresence: (room, event, user) => { void recorder?.recordEvent(`presence.${event}`, room, new Date().toISOString(), { user }) }
  })
  return { broker, recordInto: (store) => { recorder = store } }
}
