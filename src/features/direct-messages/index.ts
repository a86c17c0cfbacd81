import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { directMessagesProtocol } from './schemas.ts'
import { dmStorage } from './storage.ts'

/** Direct messages and the rooms list (docs/protocol.md, "Direct messages"). */
export const directMessages: ChatFeature = { name: 'direct-messages', protocol: directMessagesProtocol, storage: dmStorage, plugin }
