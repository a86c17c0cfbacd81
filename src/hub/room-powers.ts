import type { Connection } from './connection.ts'
import type { Refusal } from './room-access.ts'

/** A role with powers in a room: owners have every power of moderators, and more. */
export type RoomRole = 'owner' | 'moderator'
/** Who acts: a connection, or a user named by an operator (no token, so no token role). */
export type Actor = Pick<Connection, 'user' | 'moderator'>
export type RoleSource = (actor: Actor, room: string) => Promise<RoomRole | undefined> | RoomRole | undefined
export type JoinCheck = (connection: Connection, room: string) => Promise<Refusal | undefined>

/**
 * Who may do what in a room, as features say: where roles come from (the roles feature: the
 * room's roles and the token's) and what refuses a join (a ban). The hub asks at each join; the
 * features that use a power (a delete of another's message, a kick) ask at each frame, so a
 * role given or taken away applies at once.
 */
export class RoomPowers {
  private readonly roleSources: RoleSource[] = []
  private readonly joinChecks: JoinCheck[] = []

  roleSource (source: RoleSource): void {
    this.roleSources.push(source)
  }

  joinCheck (check: JoinCheck): void {
    this.joinChecks.push(check)
  }

  /** The actor's role in the room: the highest any source gives, or undefined. */
  async roleOf (actor: Actor, room: string): Promise<RoomRole | undefined> {
    let found: RoomRole | undefined
    for (const source of this.roleSources) {
      const role = await source(actor, room)
      if (role === 'owner') return role
      found ??= role
    }
    return found
  }

  /** The first refusal of a join, if any. */
  async joinRefusal (connection: Connection, room: string): Promise<Refusal | undefined> {
    for (const check of this.joinChecks) {
      const refused = await check(connection, room)
      if (refused !== undefined) return refused
    }
    return undefined
  }
}
