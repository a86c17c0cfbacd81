import type { Static } from 'typebox'
import { Id } from '../../schemas/common.ts'
import { clientFrame } from '../../schemas/frame-base.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'
import { SlowModeMs } from '../../schemas/rest.ts'

export const SlowModeFrame = clientFrame('slow_mode', { room: Id, intervalMs: SlowModeMs })
export type SlowModeFrame = Static<typeof SlowModeFrame>

export const slowModeProtocol: ProtocolPart = {
  name: 'slow-mode',
  schemas: () => ({ clientFrames: { slow_mode: SlowModeFrame } }),
  summaries: {
    'client.slow_mode': 'An owner or moderator sets the least time between two messages of a member who is not a moderator (`0` turns it off); the room\'s `slowModeMs`'
  }
}
