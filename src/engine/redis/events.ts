import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import type { Message } from '../../schemas/common.ts'
import type { EventKinds, RoomEvent } from '../events.ts'

/**
 * How the append script publishes a message event: this prefix, the stored message's JSON, then
 * '}' (see the append script in store.ts).
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
 * The room event in a channel message, or undefined when it is malformed or of a kind no one
 * defined (engine/events.ts). A message event keeps the message's JSON as it came, so that
 * framing it for the members needs no stringify.
 */
export function parseRoomEvent (text: string, kinds: EventKinds): RoomEvent | undefined {
  if (text.startsWith(MESSAGE_EVENT_PREFIX) && text.endsWith('}')) {
    const json = text.slice(MESSAGE_EVENT_PREFIX.length, -1)
    const message = parse(json)
    return storedMessage.Check(message) ? { kind: 'message', message: message as Message, json } : undefined
  }
  return kinds.check(parse(text))
}

export function parseNodeEvent (text: string): NodeEvent | undefined {
  const event = parse(text)
  return nodeEvent.Check(event) ? event : undefined
}
