import Type, { type TObject } from 'typebox'
import { Id } from '../../schemas/common.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'

/** What GET /users/:user/export answers: everything the service keeps about the user. */
export const userExport = (message: TObject) => Type.Object({
  user: Id,
  exportedAt: Type.String({ format: 'date-time' }),
  messages: Type.Array(message, { description: 'every retained message the user wrote (deleted ones as tombstones), by room then seq' }),
  readState: Type.Array(Type.Object({ room: Id, readSeq: Type.Integer({ minimum: 0 }) }), { description: 'where the user has read up to, by room' }),
  grants: Type.Array(Id, { description: 'the private rooms the user may join' }),
  roles: Type.Array(Type.Object({ room: Id, role: Type.String() }), { description: 'the user\'s room roles' }),
  pushSubscriptions: Type.Array(Type.Unknown(), { description: 'the user\'s push subscriptions' })
})

/** No frame: a user's data is an operator's REST API. */
export const userDataProtocol: ProtocolPart = { name: 'user-data' }
