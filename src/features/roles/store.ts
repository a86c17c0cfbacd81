import type { Role, UserRole } from './schemas.ts'

/** The port of room roles: durable, shared by every node, gone with the room. */
export interface RolesStore {
  /** Gives the user the role in the room; false when the room does not exist. */
  setRole (room: string, user: string, role: Role): Promise<boolean>
  /** Takes the user's role in the room away (nothing when it had none). */
  removeRole (room: string, user: string): Promise<void>
  /** The user's role in the room, if any. */
  roleOf (room: string, user: string): Promise<Role | undefined>
  /** Every role in the room, by user id. */
  roles (room: string): Promise<UserRole[]>
  /** The user's roles in every room, by room id (a user's data). */
  rolesOf (user: string): Promise<{ room: string, role: Role }[]>
}
