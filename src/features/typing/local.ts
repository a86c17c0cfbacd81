import type { LocalStorage } from '../../engine/local/storage.ts'
import type { TypingEvent } from './schemas.ts'
import type { TypingState, TypingStore } from './store.ts'

/**
 * Typing in this process's memory (the local engine, and PostgreSQL's for now): per room, each
 * typing user's expiry (ms since the epoch). Of its engine it needs only `publish`.
 */
export function localTyping (storage: Pick<LocalStorage, 'publish'>): TypingStore {
  const typing = new Map<string, Map<string, number>>()

  return {
    /**
     * Change is worked out from what happened rather than by comparing the sorted sets before
     * and after: this runs for every typing frame.
     */
    change (room, user, op, ttlMs): TypingState {
      const now = Date.now()
      const users = typing.get(room) ?? new Map<string, number>()
      const wasTyping = op !== 'sweep' && users.has(user)
      let changed = false
      for (const [name, expiresAt] of users) {
        if (expiresAt > now) continue
        users.delete(name)
        // `user` expiring is a change only if this call does not start it again (handled below).
        if (op === 'sweep' || name !== user) changed = true
      }
      if (op !== 'sweep') {
        const active = op === 'start'
        if (active) users.set(user, now + ttlMs)
        else users.delete(user)
        if (active !== wasTyping) changed = true
      }
      if (users.size === 0) typing.delete(room)
      else typing.set(room, users)
      const state: TypingState = {}
      if (users.size > 0) {
        let next = Infinity
        for (const expiresAt of users.values()) if (expiresAt < next) next = expiresAt
        state.nextExpiryMs = Math.max(0, next - now)
      }
      if (changed) {
        const after = [...users.keys()].sort()
        state.changed = after
        const data: TypingEvent = { users: after }
        storage.publish({ kind: 'feature', name: 'typing', room, data })
      }
      return state
    },
    forget (room) {
      typing.delete(room)
    }
  }
}
