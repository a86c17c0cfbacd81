import type { RoomInput, RoomRecord } from './types.ts'

/** A new room as every store creates it: named after its id, public, on the default history limit. */
export function newRoomRecord (input: RoomInput): RoomRecord {
  return {
    id: input.id,
    name: input.name ?? input.id,
    private: input.private ?? false,
    historyLimit: input.historyLimit ?? null,
    createdAt: new Date().toISOString()
  }
}
