import type { Socket } from 'node:net'
import { WebSocket } from 'ws'

/** A text message framed once, ready to be written as-is to any number of sockets. */
export type Framed = Buffer

const FIN_TEXT = 0x81

/**
 * Frames a text message as a server frame (RFC 6455 §5.2: FIN, text opcode, no mask, the
 * payload length in 7, 16 or 64 bits) in one buffer. ws frames through `Sender.frame`, which
 * wants the payload as a Buffer and returns the header and payload apart, costing two more
 * allocations and a copy for every frame; this writes the header and the UTF-8 text straight
 * into one buffer. test/hub/framing.test.ts checks it against ws's own framing and receiver.
 */
export function frameText (text: string): Framed {
  const length = Buffer.byteLength(text)
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10
  const framed = Buffer.allocUnsafe(headerLength + length)
  framed[0] = FIN_TEXT
  if (length < 126) {
    framed[1] = length
  } else if (length < 65536) {
    framed[1] = 126
    framed.writeUInt16BE(length, 2)
  } else {
    framed[1] = 127
    framed.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
    framed.writeUInt32BE(length >>> 0, 6)
  }
  framed.write(text, headerLength, 'utf8')
  return framed
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
export function writeFramed (ws: WebSocket, framed: Framed, text: string): boolean {
  if (ws.readyState !== WebSocket.OPEN) return false
  const internals = ws as unknown as WsInternals
  const sender = internals._sender
  if (sender._state === 0 && sender._queue.length === 0) internals._socket.write(framed)
  else ws.send(text)
  return true
}

/** The TCP socket under a WebSocket, for corking: several frames to one peer in one write. */
export function rawSocket (ws: WebSocket): Socket | undefined {
  return (ws as unknown as Partial<WsInternals>)._socket
}

/**
 * Runs `write` with the sockets of `connections` corked, so that what it sends each of them
 * leaves in one write instead of one per frame.
 */
export function corked (connections: Iterable<{ socket: WebSocket }>, write: () => void): void {
  const sockets: Socket[] = []
  for (const connection of connections) {
    const socket = rawSocket(connection.socket)
    if (socket === undefined) continue
    socket.cork()
    sockets.push(socket)
  }
  try {
    write()
  } finally {
    for (const socket of sockets) socket.uncork()
  }
}
