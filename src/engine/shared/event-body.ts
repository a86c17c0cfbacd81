import { randomUUID } from 'node:crypto'
import type { EventType } from '../../schemas/webhooks.ts'

/**
 * An event's body as it is stored and sent, `{id, type, time, room, data}`: made once, when the
 * change is recorded, so that every attempt to every URL sends (and signs) the same bytes.
 */
export function eventBody (type: EventType, room: string, time: string, data: object): string {
  return JSON.stringify({ id: randomUUID(), type, time, room, data })
}
