import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { rolesProtocol } from './schemas.ts'
import { rolesStorage } from './storage.ts'

/** Room roles: owner and moderator (docs/moderation.md). */
export const roles: ChatFeature = { name: 'roles', protocol: rolesProtocol, storage: rolesStorage, plugin }
