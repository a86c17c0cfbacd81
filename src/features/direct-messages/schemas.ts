import Type, { type Static } from 'typebox'
import { Id, type Message } from '../../schemas/common.ts'
import { clientFrame, OptionalRef } from '../../schemas/frame-base.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'

export const OpenDmFrame = clientFrame('open_dm', { users: Type.Array(Id, { minItems: 1, maxItems: 9, description: 'the other participants (1 to 9)' }) })
export const RoomsFrame = clientFrame('rooms', {})
export const DmBody = Type.Object({ users: Type.Array(Id, { minItems: 2, maxItems: 10, uniqueItems: true, description: 'every participant (2 to 10, each once)' }) })
export const Dm = Type.Object({ room: Id, users: Type.Array(Id, { description: 'every participant, sorted' }) })

export const RoomEntryFields = {
  room: Id,
  name: Type.String(),
  private: Type.Boolean(),
  dm: Type.Boolean({ description: 'a direct-message room' }),
  seq: Type.Integer({ minimum: 0, description: "the room's latest seq" }),
  readSeq: Type.Integer({ minimum: 0, description: "the user's read seq (0: none)" }),
  unread: Type.Integer({ minimum: 0 }),
  mentions: Type.Integer({ minimum: 0, description: 'messages after readSeq that mention the user' })
}

/** The fields of a rooms-list entry without `last` (whose schema is the composed message's). */
export const RoomEntryBase = Type.Object(RoomEntryFields)

export type OpenDmFrame = Static<typeof OpenDmFrame>
export type RoomsFrame = Static<typeof RoomsFrame>
export type Dm = Static<typeof Dm>
/** A room of the user's list (the `rooms` answer): its schema's fields, and the newest message. */
export type RoomEntry = Static<typeof RoomEntryBase> & { last: Message | null }

/** A room of the user's list: built with the composed message schema (`last`). */
export const roomEntry = (message: ReturnType<typeof Type.Object>) => Type.Object({
  ...RoomEntryFields,
  last: Type.Union([message, Type.Null()], { description: 'the newest message, or null' })
})

export const directMessagesProtocol: ProtocolPart = {
  name: 'direct-messages',
  schemas: (build) => ({
    clientFrames: { open_dm: OpenDmFrame, rooms: RoomsFrame },
    serverFrames: {
      dm: Type.Object({ type: Type.Literal('dm'), ...Dm.properties, ...OptionalRef }),
      rooms: Type.Object({ type: Type.Literal('rooms'), rooms: Type.Array(roomEntry(build.message)), ...OptionalRef })
    }
  }),
  summaries: {
    'client.open_dm': 'Opens (or finds) the direct-message room of the caller and `users`: a private room granted to exactly them, the same id whoever asks',
    'client.rooms': "The user's rooms (a read seq, a grant or a direct message), newest message first, with unread and mention counts",
    'server.dm': 'Answer to `open_dm`: the room and every participant',
    'server.rooms': 'Answer to `rooms`'
  }
}
