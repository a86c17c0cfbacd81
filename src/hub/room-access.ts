import type { ChatStore } from '../engine/types.ts'
import type { ErrorCode } from '../schemas/common.ts'

/** Why a frame is refused: the error frame's code and message. */
export interface Refusal { code: ErrorCode, message: string }

/**
 * Whether `user` may read a room it has not joined: not_found for an unknown room, forbidden for
 * a private room without a grant; undefined when it may.
 */
export async function readRefusal (store: ChatStore, user: string, room: string): Promise<Refusal | undefined> {
  const record = await store.getRoom(room)
  if (record === undefined) return { code: 'not_found', message: `room ${room} does not exist` }
  if (record.private && !(await store.hasGrant(room, user))) return { code: 'forbidden', message: `room ${room} is private` }
  return undefined
}
