import Type, { type TObject, type TProperties } from 'typebox'
import type { EventDefinition, ProtocolPart, SchemaBuilder } from '../schemas/protocol-part.ts'

/** The wire protocol of the core and every feature, composed. */
export interface Protocol {
  /** The message object with every feature's fields. */
  message: TObject
  clientFrames: Record<string, TObject>
  serverFrames: Record<string, TObject>
  /** Webhook event types, in the order the parts list them. */
  events: Record<string, EventDefinition>
  summaries: Record<string, string>
  /** The fields added to an extensible object, for owners that build it later (REST bodies, queries). */
  fields (name: string): TProperties
  /** An extensible object with its added fields. */
  object (name: string, properties: TProperties, options?: { description?: string }): TObject
}

/**
 * Puts the parts of the protocol together. Fields added to one object by two parts, or a frame
 * type or event type defined twice, refuse the composition: each name has one owner.
 */
export function composeProtocol (parts: ProtocolPart[], baseMessage: TProperties): Protocol {
  const added = new Map<string, TProperties>()
  const ownerOf = new Map<string, string>()
  for (const part of parts) {
    for (const [name, properties] of Object.entries(part.extends ?? {})) {
      const fields = added.get(name) ?? {}
      for (const field of Object.keys(properties)) {
        const key = `${name}.${field}`
        const owner = ownerOf.get(key)
        if (owner !== undefined || field in (name === 'Message' ? baseMessage : {})) {
          throw new Error(`${part.name} adds ${key}, which ${owner ?? 'the core'} defines`)
        }
        ownerOf.set(key, part.name)
      }
      added.set(name, { ...fields, ...properties })
    }
  }
  const fields = (name: string): TProperties => added.get(name) ?? {}
  // A named object (PascalCase: Message, RoomUnread) carries its name as its title, so documents
  // and the client SDK's types show it once under that name.
  const object = (name: string, properties: TProperties, options: { description?: string } = {}) =>
    Type.Object({ ...properties, ...fields(name) }, /^[A-Z]/.test(name) ? { ...options, title: name } : options)
  const message = object('Message', baseMessage, { description: 'A stored chat message, the same object over WebSocket, REST and webhooks' })
  const builder: SchemaBuilder = { message, object }

  const clientFrames: Record<string, TObject> = {}
  const serverFrames: Record<string, TObject> = {}
  const events: Record<string, EventDefinition> = {}
  const summaries: Record<string, string> = {}
  for (const part of parts) {
    const built = part.schemas?.(builder) ?? {}
    merge(clientFrames, built.clientFrames, `${part.name}: client frame`)
    merge(serverFrames, built.serverFrames, `${part.name}: server frame`)
    merge(events, built.events, `${part.name}: event type`)
    Object.assign(summaries, part.summaries)
  }
  return { message, clientFrames, serverFrames, events, summaries, fields, object }
}

function merge<T> (into: Record<string, T>, from: Record<string, T> | undefined, what: string): void {
  for (const [name, value] of Object.entries(from ?? {})) {
    if (name in into) throw new Error(`${what} ${name} is defined twice`)
    into[name] = value
  }
}
