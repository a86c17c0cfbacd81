import type { Connection } from './connection.ts'

/** What a client frame is once parsed: its type, its optional ref, and its own fields. */
export interface ParsedFrame {
  type: string
  ref?: string
}

/** Handles one frame of a connection; a promise holds the connection's next frame until it settles. */
export type FrameHandler<F extends ParsedFrame = ParsedFrame> = (connection: Connection, frame: F) => void | Promise<void>

/**
 * Who handles each client frame type: the core registers its frames (join, leave, message…),
 * each feature its own. The WebSocket route dispatches every parsed frame here, so the route and
 * the hub know no feature's frame. A feature may also wrap a handler registered before it (to
 * serve a field it adds to a core frame, such as `history` with `thread`).
 */
export class FrameHandlers {
  private readonly handlers = new Map<string, FrameHandler>()

  /** `F` is the frame's type as the schema that validated it makes it. */
  handle<F extends ParsedFrame> (type: string, handler: FrameHandler<F>): void {
    if (this.handlers.has(type)) throw new Error(`frame ${type} has a handler already`)
    this.handlers.set(type, handler as FrameHandler)
  }

  /** Replaces the handler of `type` by one made from it. */
  wrap<F extends ParsedFrame> (type: string, wrapper: (next: FrameHandler<F>) => FrameHandler<F>): void {
    const next = this.handlers.get(type)
    if (next === undefined) throw new Error(`frame ${type} has no handler to wrap`)
    this.handlers.set(type, wrapper(next as FrameHandler<F>) as FrameHandler)
  }

  /** Runs the frame's handler; the parser admits only frames of known types. */
  dispatch (connection: Connection, frame: ParsedFrame): void | Promise<void> {
    const handler = this.handlers.get(frame.type)
    if (handler === undefined) throw new Error(`no handler for frame ${frame.type}`)
    return handler(connection, frame)
  }

  /** The types among `types` that nothing handles (checked once every plugin is loaded). */
  missing (types: string[]): string[] {
    return types.filter((type) => !this.handlers.has(type))
  }
}
