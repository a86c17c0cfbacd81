import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { Id, Message } from '../../schemas/common.ts'
import type { RoomEvent } from '../types.ts'

/**
 * How the append script publishes a message event: this prefix, the stored message's JSON, then
 * '}' (see chatAppend in redis-scripts.ts).
 */
const MESSAGE_EVENT_PREFIX = '{"kind":"message","message":'

/**
 * A message as the append script stores and publishes it. Its fields were checked against the
 * full Message schema by the node that took the frame and built the JSON; on arrival only its
 * shape is checked, the patterns and formats again being the cost of every message on every
 * node for nothing.
 */
const StoredMessage = Type.Object({
  room: Type.String(),
  seq: Type.Integer({ minimum: 1 }),
  id: Type.String(),
  user: Type.String(),
  text: Type.String(),
  time: Type.String(),
  clientId: Type.Optional(Type.String())
})
const storedMessage = Compile(StoredMessage)

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

/**
 * The room event in a channel message, or undefined when it is malformed. A message event keeps
 * the message's JSON as it came, so that framing it for the members needs no stringify.
 */
export function parseRoomEvent (text: string): RoomEvent | undefined {
  if (text.startsWith(MESSAGE_EVENT_PREFIX) && text.endsWith('}')) {
    const json = text.slice(MESSAGE_EVENT_PREFIX.length, -1)
    const message = parse(json)
    return storedMessage.Check(message) ? { kind: 'message', message: message as Message, json } : undefined
  }
  const event = parse(text)
  return roomEvent.Check(event) ? event : undefined
}

export function parseNodeEvent (text: string): NodeEvent | undefined {
  const event = parse(text)
  return nodeEvent.Check(event) ? event : undefined
}

export const roomOf = (event: RoomEvent): string =>
  event.kind === 'message' || event.kind === 'updated' ? event.message.room : event.room
