import type { Message } from '../../schemas/common.ts'

/**
 * The port of replies (threads). A reply is a message of the room with `replyTo`: the append
 * checks, in its own step, that the root is retained and undeleted (a hook that may refuse it),
 * indexes the reply under its root and updates the root's `thread` through the core's "message
 * changed" step; a reply's deletion updates its root in the step of the delete (a change hook).
 */
export interface RepliesStore {
  /** The newest `limit` replies of the root with seq < before (or the newest), ascending, as they now are. */
  thread (room: string, root: number, limit: number, before?: number): Promise<Message[]>
}

/** The append's effect of a reply, under the feature's name: the seq of the root whose thread changed. */
export const EFFECT = 'replies'
