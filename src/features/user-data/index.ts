import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { userDataProtocol } from './schemas.ts'
import { userMessagesStorage } from './storage.ts'

/** A user's data: export and deletion for operators (docs/operations.md#a-users-data). */
export const userData: ChatFeature = { name: 'user-data', protocol: userDataProtocol, storage: userMessagesStorage, plugin }
