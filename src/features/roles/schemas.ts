import Type, { type Static } from 'typebox'
import { Id } from '../../schemas/common.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'

/** A role in a room: owners have every power of moderators; a moderator may not act on an owner. */
export const Role = Type.Union([Type.Literal('owner'), Type.Literal('moderator')], { description: 'owner or moderator' })
export const RoleBody = Type.Object({ role: Role })
export const UserRole = Type.Object({ user: Id, role: Role })

export type Role = Static<typeof Role>
export type UserRole = Static<typeof UserRole>

export const rolesProtocol: ProtocolPart = {
  name: 'roles',
  extends: {
    'server.joined': {
      role: Type.Optional(Type.Union([Type.Literal('owner'), Type.Literal('moderator')], {
        description: "the joiner's role in the room, from the room's roles or its token's `roles` claim; absent without one"
      }))
    }
  }
}
