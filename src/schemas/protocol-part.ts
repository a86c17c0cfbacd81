import type { TObject, TProperties, TSchema } from 'typebox'

/** A webhook event type: what its `data` holds, and when it is sent. */
export interface EventDefinition {
  data: TSchema
  description: string
}

/** What a part of the protocol builds its schemas with, once every part's fields are known. */
export interface SchemaBuilder {
  /** The message object: the core's fields and every field a feature adds to `Message`. */
  readonly message: TObject
  /** An object open to extension: `properties`, then the fields every part adds to `name`. */
  object (name: string, properties: TProperties, options?: { description?: string }): TObject
}

/** What a part of the protocol sends and receives once its schemas are built. */
export interface ProtocolSchemas {
  /** Client frames by type; a property declared with `MessageText` is held to CHAT_MAX_TEXT. */
  clientFrames?: Record<string, TObject>
  /** Server frames by type. */
  serverFrames?: Record<string, TObject>
  /** Webhook event types by name. */
  events?: Record<string, EventDefinition>
}

/**
 * A part of the wire protocol, as schemas only (nothing here runs): the core, and each chat
 * feature. A feature adds fields to objects that others own (`Message`, a core frame, another
 * feature's object) through `extends`, and builds its own frames and events with the composed
 * schemas, so that one message schema carries every feature's fields everywhere it appears.
 * composeProtocol() puts the parts together for the frame parser, the REST routes, the AsyncAPI
 * document and the client SDK's types.
 */
export interface ProtocolPart {
  name: string
  /** Fields added to extensible objects, by object name (`Message`, `client.message`, `RoomUnread`…). */
  extends?: Record<string, TProperties>
  schemas?: (build: SchemaBuilder) => ProtocolSchemas
  /** One line per frame (`client.react`, `server.typing`) for the AsyncAPI document. */
  summaries?: Record<string, string>
}
