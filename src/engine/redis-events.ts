import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { Id, Message } from '../schemas/common.ts'
import type { RoomEvent } from './types.ts'

/** Events as they travel between nodes; checked on arrival, since any node may send them. */
const RoomEventSchema = Type.Union([
  Type.Object({ kind: Type.Literal('message'), message: Message }),
  Type.Object({
    kind: Type.Literal('presence'), room: Id, event: Type.Union([Type.Literal('join'), Type.Literal('leave')]), user: Id, time: Type.String()
  }),
  Type.Object({ kind: Type.Literal('kick'), room: Id, user: Id, reason: Type.String() }),
  Type.Object({ kind: Type.Literal('room_deleted'), room: Id }),
  Type.Object({ kind: Type.Literal('updated'), message: Message }),
  Type.Object({ kind: Type.Literal('typing'), room: Id, users: Type.Array(Id) }),
  Type.Object({ kind: Type.Literal('read'), room: Id, user: Id, seq: Type.Integer({ minimum: 0 }) })
])
const roomEvent = Compile(RoomEventSchema)

/**
 * Node-level events, on the node channel: `node_down` says that a presence owner's entries
 * have been removed (its node was taken for dead, or shut down).
 */
const NodeEventSchema = Type.Object({ kind: Type.Literal('node_down'), owner: Type.String({ minLength: 1, maxLength: 200 }) })
export type NodeEvent = Static<typeof NodeEventSchema>
const nodeEvent = Compile(NodeEventSchema)

function parse (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The room event in a channel message, or undefined when it is malformed. */
export function parseRoomEvent (text: string): RoomEvent | undefined {
  const event = parse(text)
  return roomEvent.Check(event) ? event : undefined
}

export function parseNodeEvent (text: string): NodeEvent | undefined {
  const event = parse(text)
  return nodeEvent.Check(event) ? event : undefined
}

export const roomOf = (event: RoomEvent): string =>
  event.kind === 'message' || event.kind === 'updated' ? event.message.room : event.room
