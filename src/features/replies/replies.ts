import { Refused } from '../../engine/extension.ts'
import type { ChatStore } from '../../engine/types.ts'
import type { Draft, HistoryQuery } from '../../hub/messages.ts'
import type { Message } from '../../schemas/common.ts'
import type { EditedMessage } from '../message-edits/schemas.ts'
import type { ReplyMessage } from './schemas.ts'
import type { RepliesStore } from './store.ts'

const notFound = (room: string, seq: number) => new Refused('not_found', `message ${seq} of room ${room} is not retained or was deleted`)

/**
 * Replies (threads): a message with `replyTo` is a reply to its thread's root, a message of the
 * room like any other; `history` with `thread` reads a thread. Replying to a reply replies to
 * its root: the root is found here, before the append (a message's `replyTo` never changes),
 * and the append checks in its own step that the root is still there.
 */
export class Replies {
  private readonly messages: ChatStore
  private readonly store: RepliesStore

  constructor (options: { messages: ChatStore, store: RepliesStore }) {
    this.messages = options.messages
    this.store = options.store
  }

  /** A composer: sets `replyTo` to the root of the message replied to. Synchronous for a message that replies to none. */
  compose = (draft: Draft): void | Promise<void> => {
    const replyTo = draft.input.replyTo
    if (typeof replyTo !== 'number') return
    return this.messages.message(draft.room, replyTo).then((target) => {
      const message = target as (ReplyMessage & EditedMessage) | undefined
      if (message === undefined || message.deleted === true) throw notFound(draft.room, replyTo)
      draft.fields.replyTo = message.replyTo ?? message.seq
    })
  }

  /** A history source: a query with `thread` reads that thread (whose root must be retained). */
  history = (room: string, query: HistoryQuery): Promise<Message[]> | undefined => {
    const root = query.input.thread
    if (typeof root !== 'number') return undefined
    return this.messages.message(room, root).then((message) => {
      if (message === undefined) throw notFound(room, root)
      return this.store.thread(room, root, query.limit, query.before)
    })
  }
}
