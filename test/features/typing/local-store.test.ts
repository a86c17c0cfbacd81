import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createSqliteStore } from '../../../src/engine/local/sqlite-store.ts'
import type { RoomEvent } from '../../../src/engine/types.ts'
import { localTyping } from '../../../src/features/typing/local.ts'

test('the local typing store answers at once, and announces the set of names only when it changes', async (t) => {
  const events: RoomEvent[] = []
  const store = createSqliteStore({ path: ':memory:', defaultHistoryLimit: 10, publish: (event) => events.push(event) })
  t.after(() => store.close())
  const typing = localTyping(store.storage)
  const typed = (user: string, active: boolean, ttlMs = 60_000) => {
    const state = typing.change('lobby', user, active ? 'start' : 'stop', ttlMs)
    assert.ok(!(state instanceof Promise), 'a value, not a promise')
    return state
  }
  assert.deepEqual(typed('bob', true).changed, ['bob'])
  assert.equal(typed('bob', true).changed, undefined, 'prolonging is no change')
  assert.deepEqual(typed('alice', true).changed, ['alice', 'bob'], 'sorted')
  assert.deepEqual(typed('bob', false).changed, ['alice'])
  assert.equal(typed('bob', false).changed, undefined, 'stopping someone who is not typing is no change')
  // Expired entries go first: bob expiring and typing again in one call leaves the same names.
  typed('bob', true, 20)
  events.length = 0
  await sleep(60)
  const again = typed('bob', true)
  assert.equal(again.changed, undefined, 'bob expired and started again: the same set')
  assert.ok(again.nextExpiryMs !== undefined && again.nextExpiryMs > 0)
  typed('carol', true, 20)
  await sleep(60)
  assert.deepEqual(typed('alice', false).changed, ['bob'], 'carol expired and alice stopped')
  assert.deepEqual(events.map((event) => event.kind === 'feature' && event.name === 'typing' ? (event.data as { users: string[] }).users : event.kind),
    [['alice', 'bob', 'carol'], ['bob']])
  assert.deepEqual(typed('bob', false), { changed: [] }, 'nobody left: the empty set, no next expiry')
})
