import Type, { type Static } from 'typebox'
import { IsoTime, type Message } from '../../schemas/common.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'

/** A reply names its thread's root by seq; a root lists how its thread stands. */
export const ThreadSummary = Type.Object({
  replies: Type.Integer({ minimum: 1, description: 'undeleted replies' }),
  lastSeq: Type.Integer({ minimum: 1, description: 'the seq of the newest undeleted reply' }),
  lastTime: IsoTime
}, { description: 'the thread of this root, while it has undeleted replies' })

export const ReplyFields = {
  replyTo: Type.Optional(Type.Integer({ minimum: 1, description: "the seq of the thread's root this message replies to" })),
  thread: Type.Optional(ThreadSummary)
}

/** The fields replies add to the frames and calls of others. */
const ReplyTo = Type.Optional(Type.Integer({
  minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'reply to this message (a reply to a reply goes to its root)'
}))
const Thread = Type.Optional(Type.Integer({
  minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "the thread's root: its replies (not the root), with the paging of history"
}))

export type ThreadSummary = Static<typeof ThreadSummary>
export type ReplyMessage = Message & { replyTo?: number, thread?: ThreadSummary }

export const repliesProtocol: ProtocolPart = {
  name: 'replies',
  extends: {
    Message: ReplyFields,
    'client.message': { replyTo: ReplyTo },
    'rest.postMessage': { replyTo: ReplyTo },
    'client.history': { thread: Thread },
    'rest.listMessages': { thread: Thread }
  }
}
