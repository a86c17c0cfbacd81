import { setTimeout as sleep } from 'node:timers/promises'
import type { ChatHub } from './chat-hub.ts'
import { CloseCode } from './connection.ts'
import type { ConnectionRegistry } from './connection-registry.ts'

/**
 * Shutdown: sends every client a close frame with 1001 so it reconnects elsewhere, waits up to
 * `graceMs` for the closing handshakes, then cuts whatever is left.
 */
export async function closeAll (registry: ConnectionRegistry, hub: ChatHub, graceMs: number): Promise<void> {
  for (const connection of registry) connection.close(CloseCode.goingAway, 'server shutting down')
  const deadline = Date.now() + graceMs
  while (registry.size > 0 && Date.now() < deadline) await sleep(20)
  for (const connection of registry) {
    connection.socket.terminate()
    await hub.disconnect(connection)
  }
}
