import Type from 'typebox'

/** `ref`: an optional client string echoed on every reply to the frame. */
export const Ref = Type.String({ maxLength: 64 })

/** A client frame: its type, its fields, and the optional ref. Objects stay open: unknown fields are ignored. */
export const clientFrame = <K extends string, T extends Type.TProperties>(type: K, properties: T) =>
  Type.Object({ type: Type.Literal(type), ...properties, ref: Type.Optional(Ref) })

/** The ref a reply echoes, when the frame it answers carried one. */
export const OptionalRef = { ref: Type.Optional(Type.String()) }

/** Text of a message or an edit; its maximum (CHAT_MAX_TEXT) is checked by the frame parser. */
export const MessageText = Type.String({ minLength: 1 })
