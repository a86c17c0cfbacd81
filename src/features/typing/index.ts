import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { typingProtocol } from './schemas.ts'
import { typingStorage } from './storage.ts'

/** Typing indicators (docs/protocol.md, "Typing"). */
export const typing: ChatFeature = { name: 'typing', protocol: typingProtocol, storage: typingStorage, plugin }
