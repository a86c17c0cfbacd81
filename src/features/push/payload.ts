import type { Message } from '../../schemas/common.ts'
import type { PushPayload } from './schemas.ts'

/** How much of a text a push carries, in code points (push services limit payloads to about 4 KB). */
const TEXT_CODE_POINTS = 200

/** A push's payload: the message, its text cut to its first 200 code points. */
export function payloadOf (message: Message & { mentions?: string[] }): string {
  const codePoints = Array.from(message.text)
  const payload: PushPayload = {
    type: 'message',
    room: message.room,
    seq: message.seq,
    user: message.user,
    text: codePoints.length > TEXT_CODE_POINTS ? codePoints.slice(0, TEXT_CODE_POINTS).join('') : message.text
  }
  if (message.mentions !== undefined) payload.mentions = message.mentions
  return JSON.stringify(payload)
}
