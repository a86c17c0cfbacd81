import type { Connection } from './connection.ts'

/** Every open connection of this process, by id and by user. */
export class ConnectionRegistry {
  private readonly byId = new Map<string, Connection>()
  private readonly byUser = new Map<string, Set<Connection>>()

  get size (): number {
    return this.byId.size
  }

  add (connection: Connection): void {
    this.byId.set(connection.id, connection)
    let connections = this.byUser.get(connection.user)
    if (connections === undefined) this.byUser.set(connection.user, connections = new Set())
    connections.add(connection)
  }

  /** Idempotent: every exit path may call it. */
  remove (connection: Connection): void {
    if (!this.byId.delete(connection.id)) return
    const connections = this.byUser.get(connection.user)
    connections?.delete(connection)
    if (connections?.size === 0) this.byUser.delete(connection.user)
  }

  get (id: string): Connection | undefined {
    return this.byId.get(id)
  }

  countForUser (user: string): number {
    return this.byUser.get(user)?.size ?? 0
  }

  /** Outbound bytes waiting in every connection's socket. */
  bufferedBytes (): number {
    let total = 0
    for (const connection of this.byId.values()) total += connection.socket.bufferedAmount
    return total
  }

  [Symbol.iterator] (): IterableIterator<Connection> {
    return this.byId.values()
  }
}
