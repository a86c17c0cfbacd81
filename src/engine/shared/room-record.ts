import type { Room } from '../../schemas/rest.ts'
import type { RoomInput, RoomRecord } from '../types.ts'

/** A new room as every store creates it: named after its id, public, on the default history limit, no slow mode. */
export function newRoomRecord (input: RoomInput): RoomRecord {
  return {
    id: input.id,
    name: input.name ?? input.id,
    private: input.private ?? false,
    historyLimit: input.historyLimit ?? null,
    slowModeMs: input.slowModeMs ?? 0,
    retentionDays: input.retentionDays ?? null,
    createdAt: new Date().toISOString()
  }
}

/** The contract's room object: the stored record, its effective history limit and its online users. */
export function roomObject (record: RoomRecord, defaultHistoryLimit: number, online: number): Room {
  return {
    id: record.id,
    name: record.name,
    private: record.private,
    historyLimit: record.historyLimit ?? defaultHistoryLimit,
    slowModeMs: record.slowModeMs,
    retentionDays: record.retentionDays,
    online,
    createdAt: record.createdAt
  }
}
