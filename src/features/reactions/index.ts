import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { reactionsProtocol } from './schemas.ts'
import { reactionsStorage } from './storage.ts'

/** Reactions to messages (docs/protocol.md, "Reactions"). */
export const reactions: ChatFeature = { name: 'reactions', protocol: reactionsProtocol, storage: reactionsStorage, plugin }
