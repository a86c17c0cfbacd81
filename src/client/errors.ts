import type { ErrorCode, ErrorFrame } from './protocol.ts'

/**
 * Why a request failed: an `error` frame's code, or one of the client's own:
 * `closed` (close() was called before the reply) and `cancelled` (the request was
 * overtaken, such as a join, or a read not sent yet, followed by a leave of the same room).
 */
export type ChatErrorCode = ErrorCode | 'closed' | 'cancelled'

export class ChatError extends Error {
  override name = 'ChatError'
  readonly code: ChatErrorCode
  /** The room the failed request was about, when it was about one. */
  readonly room: string | undefined
  /** With `rate_limited` from a room's slow mode: ms until the next message may be sent. */
  readonly retryAfterMs: number | undefined

  constructor (message: string, code: ChatErrorCode, room?: string, retryAfterMs?: number) {
    super(message)
    this.code = code
    this.room = room
    this.retryAfterMs = retryAfterMs
  }

  static fromFrame (frame: ErrorFrame, room?: string): ChatError {
    return new ChatError(frame.message, frame.code, room, frame.retryAfterMs)
  }
}
