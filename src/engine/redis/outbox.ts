import { randomUUID } from 'node:crypto'
import type { EventType } from '../../schemas/webhooks.ts'
import type { OutboxOptions } from '../types.ts'

/**
 * Lua that appends an event to its partition's outbox stream (`chat:{pN}:outbox`), for the
 * scripts that make changes: the event is in the stream exactly when the change is made. Fields:
 * `r` the room, `e` the event as sent, `{id, type, time, room, data}` (room ids need no JSON
 * escaping), and for a retried event `to`, the URL keys it is for.
 */
export const RECORD_LUA = `
local function record(outbox, id, etype, time, room, data)
  redis.call('XADD', outbox, '*', 'r', room, 'e',
    '{"id":"' .. id .. '","type":"' .. etype .. '","time":"' .. time .. '","room":"' .. room .. '","data":' .. data .. '}')
end`

/** The id a script records an event under, or '' when the type is not recorded (no URL, or not selected). */
export function eventIdFor (outbox: OutboxOptions | undefined, type: EventType): string {
  return outbox !== undefined && outbox.events.has(type) ? randomUUID() : ''
}
