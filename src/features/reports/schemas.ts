import Type, { type Static } from 'typebox'
import { Id, Seq } from '../../schemas/common.ts'
import { clientFrame } from '../../schemas/frame-base.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'

export const ReportFrame = clientFrame('report', { room: Id, seq: Seq, reason: Type.Optional(Type.String({ maxLength: 500 })) })
export const ResolveBody = Type.Object({
  action: Type.Union([Type.Literal('dismiss'), Type.Literal('delete')], { description: 'dismiss: keep the message; delete: delete it' })
})
export const ReportIdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) })
/** The data of `message.reported`. */
export const ReportedEvent = Type.Object({ id: Type.String(), seq: Seq, reporter: Id, reason: Type.Union([Type.String(), Type.Null()]) })

export type ReportFrame = Static<typeof ReportFrame>

export const reportsProtocol: ProtocolPart = {
  name: 'reports',
  schemas: () => ({
    clientFrames: { report: ReportFrame },
    events: { 'message.reported': { data: ReportedEvent, description: 'A member reported a message (the moderation queue: GET /reports)' } }
  }),
  summaries: { 'client.report': 'A member reports a message of the room to the operators\' queue; answered `ack` with the message\'s seq and id' }
}

/** A report as REST lists it (built with the composed message schema). */
export const reportObject = (message: ReturnType<typeof Type.Object>) => Type.Object({
  id: Type.String(),
  room: Id,
  seq: Seq,
  message: Type.Union([message, Type.Null()], { description: 'the message as it was when reported' }),
  reporter: Id,
  reason: Type.Union([Type.String(), Type.Null()]),
  time: Type.String({ format: 'date-time' })
})
