import type { Room } from '../../schemas/rest.ts'
import type { RoomInput, RoomPatch, RoomRecord } from '../types.ts'

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

/** A room as a PATCH leaves it: each field the patch names (null too, where null means the default), the others as they were. */
export function patchedRoom (current: RoomRecord, patch: RoomPatch): RoomRecord {
  return {
    ...current,
    name: patch.name ?? current.name,
    private: patch.private ?? current.private,
    historyLimit: patch.historyLimit === undefined ? current.historyLimit : patch.historyLimit,
    slowModeMs: patch.slowModeMs ?? current.slowModeMs,
    retentionDays: patch.retentionDays === undefined ? current.retentionDays : patch.retentionDays
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
