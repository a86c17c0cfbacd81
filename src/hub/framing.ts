import type { Socket } from 'node:net'
import * as wsModule from 'ws'
import { WebSocket } from 'ws'

interface FrameOptions { fin: boolean, rsv1: boolean, opcode: number, mask: boolean, readOnly: boolean }
// ws exports its Sender (whose static frame() builds a frame) without declaring it in @types/ws.
const { Sender } = wsModule as unknown as { Sender: { frame: (data: Buffer, options: FrameOptions) => Buffer[] } }

/** A text message framed once, ready to be written as-is to any number of sockets. */
export type Framed = Buffer

/** Frames a text message once: the WebSocket header and payload in one buffer. */
export function frameText(text: string): Framed {
  const [header, payload] = Sender.frame(Buffer.from(text), {
    fin: true, rsv1: false, opcode: 0x01, mask: false, readOnly: true
  }) as [Buffer, Buffer]
  return Buffer.concat([header, payload])
}

interface WsInternals {
  _sender: { _state: number, _queue: unknown[] }
  _socket: Socket
}

/**
 * Writes a pre-framed message straight to the socket. `ws` has no public API for sending
 * bytes that are already framed, and framing each message once per room instead of once
 * per member is most of a broadcast's cost; so this reaches for the socket under the
 * WebSocket, but only when ws's own sender is idle (nothing queued, no compression in
 * progress), which keeps frames in order. Otherwise it falls back to `send()`.
 */
export function writeFramed(ws: WebSocket, framed: Framed, text: string): void {
  if (ws.readyState !== WebSocket.OPEN) return
  const internals = ws as unknown as WsInternals
  const sender = internals._sender
  if (sender._state === 0 && sender._queue.length === 0) internals._socket.write(framed)
  else ws.send(text)
}
