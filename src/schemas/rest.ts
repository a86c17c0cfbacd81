import Type, { type Static } from 'typebox'
import { Id, IsoTime, Message } from './common.ts'
import { MessageSeq } from './message-edits.ts'
import { RoomUnread, UserRead } from './read-state.ts'

export const RoomName = Type.String({ minLength: 1, maxLength: 200 })
export const HistoryLimit = Type.Integer({ minimum: 1, maximum: 1_000_000 })

export const Room = Type.Object({
  id: Id,
  name: Type.String(),
  private: Type.Boolean(),
  historyLimit: Type.Integer(),
  online: Type.Integer({ minimum: 0, description: 'distinct users online in the room' }),
  createdAt: IsoTime
})
export type Room = Static<typeof Room>

export const CreateRoomBody = Type.Object({
  id: Id,
  name: Type.Optional(RoomName),
  private: Type.Optional(Type.Boolean()),
  historyLimit: Type.Optional(HistoryLimit)
})

export const PatchRoomBody = Type.Object({
  name: Type.Optional(RoomName),
  private: Type.Optional(Type.Boolean()),
  // A type list, not a union: Fastify's ajv coerces 0 to null in a union's null branch, so
  // {historyLimit: 0} would silently reset the limit instead of being refused.
  historyLimit: Type.Optional(Type.Unsafe<number | null>({
    type: ['integer', 'null'], minimum: 1, maximum: 1_000_000, description: 'null: back to CHAT_HISTORY_LIMIT'
  }))
})

export const RoomParams = Type.Object({ id: Id })
export const GrantParams = Type.Object({ id: Id, user: Id })

export const ListRoomsQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 128 }))
})
export const RoomList = Type.Object({
  rooms: Type.Array(Room),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' })
})

export const MessagesQuery = Type.Object({
  before: Type.Optional(Type.Integer({ minimum: 1, description: 'only messages with a lower seq' })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 })
})
export const MessageList = Type.Object({ messages: Type.Array(Message) })

export const MessageParams = Type.Object({ id: Id, seq: MessageSeq })
export const UserParams = Type.Object({ user: Id })
export const EditMessageBody = (maxText: number) => Type.Object({ text: Type.String({ minLength: 1, maxLength: maxText }) })
export const ReadList = Type.Object({ reads: Type.Array(UserRead, { description: 'every user with a read seq in the room, by user id' }) })
export const UnreadList = Type.Object({ rooms: Type.Array(RoomUnread, { description: 'every room where the user has a read seq, by room id' }) })

export const OnlineList = Type.Object({
  users: Type.Array(Type.Object({ user: Id, connections: Type.Integer({ minimum: 1 }) }))
})

export const HttpError = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String()
})

export { Message }
