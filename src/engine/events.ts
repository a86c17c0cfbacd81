import Type, { type Static, type TSchema } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import { Id, Message } from '../schemas/common.ts'

/**
 * The events of a room, as they travel between nodes. Written once, here: the TypeScript type
 * is made from the schemas that check what arrives from Redis (any node may send it).
 *
 * `feature` carries a feature's own event (`name`: typing, read…) with `data` checked against the
 * schema the feature defined for it (EventKinds); the core moves it without reading it.
 */
const FEATURE_EVENT_NAME = /^[a-z_]{1,32}$/

const CoreRoomEvent = Type.Union([
  Type.Object({ kind: Type.Literal('message'), message: Message }),
  Type.Object({ kind: Type.Literal('updated'), message: Message }),
  Type.Object({
    kind: Type.Literal('presence'), room: Id, event: Type.Union([Type.Literal('join'), Type.Literal('leave')]), user: Id, time: Type.String()
  }),
  Type.Object({ kind: Type.Literal('kick'), room: Id, user: Id, reason: Type.String() }),
  Type.Object({ kind: Type.Literal('room_deleted'), room: Id }),
  Type.Object({ kind: Type.Literal('feature'), name: Type.String({ pattern: FEATURE_EVENT_NAME.source }), room: Id, data: Type.Unknown() })
])

/**
 * A room's event. A message event may carry the message's JSON as it was stored (`json`), so
 * that framing it for members needs no stringify; it never travels as a field.
 */
export type RoomEvent =
  | (Extract<Static<typeof CoreRoomEvent>, { kind: 'message' }> & { json?: string })
  | Exclude<Static<typeof CoreRoomEvent>, { kind: 'message' }>

export type FeatureEvent = Extract<RoomEvent, { kind: 'feature' }>

export const roomOf = (event: RoomEvent): string =>
  event.kind === 'message' || event.kind === 'updated' ? event.message.room : event.room

/**
 * The features' event kinds and the schema of each one's `data`. An engine that carries events
 * between nodes checks every arrival against it; an event of a kind no feature defined, or whose
 * data does not match, is dropped.
 */
export class EventKinds {
  private readonly kinds = new Map<string, Validator<Record<string, never>, TSchema>>()

  define (name: string, data: TSchema): void {
    if (this.kinds.has(name)) throw new Error(`event kind ${name} is defined twice`)
    // Caught here rather than as events silently dropped on arrival.
    if (!FEATURE_EVENT_NAME.test(name)) throw new Error(`event kind ${name}: a name is 1 to 32 of a-z and _`)
    this.kinds.set(name, Compile(data))
  }

  /** The event when it is well formed and of a known kind; undefined otherwise. */
  check (value: unknown): RoomEvent | undefined {
    if (!coreEvent.Check(value)) return undefined
    const event = value as RoomEvent
    if (event.kind !== 'feature') return event
    return this.kinds.get(event.name)?.Check(event.data) === true ? event : undefined
  }
}

const coreEvent = Compile(CoreRoomEvent)
