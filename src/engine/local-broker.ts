import type { ChatBroker, OnlineUser, RoomEvent } from './types.ts'

/**
 * Fan-out and presence for a single process: events go straight to the subscribers, and
 * presence is a count of connections per user per room.
 */
export function createLocalBroker(): ChatBroker {
  const listeners: ((event: RoomEvent) => void)[] = []
  const presence = new Map<string, Map<string, number>>()

  return {
    publish(event) {
      for (const listener of listeners) listener(event)
    },
    subscribe(listener) {
      listeners.push(listener)
    },
    async presenceAdd(room, user) {
      let users = presence.get(room)
      if (users === undefined) presence.set(room, users = new Map())
      const count = users.get(user) ?? 0
      users.set(user, count + 1)
      return count === 0
    },
    async presenceRemove(room, user) {
      const users = presence.get(room)
      const count = users?.get(user)
      if (users === undefined || count === undefined) return false
      if (count > 1) {
        users.set(user, count - 1)
        return false
      }
      users.delete(user)
      if (users.size === 0) presence.delete(room)
      return true
    },
    async online(room) {
      const users = presence.get(room)
      const result: OnlineUser[] = []
      if (users !== undefined) for (const [user, connections] of users) result.push({ user, connections })
      return result
    },
    async presenceClear(room) {
      presence.delete(room)
    },
    async ready() {
      return true
    },
    async close() {
      listeners.length = 0
      presence.clear()
    }
  }
}
