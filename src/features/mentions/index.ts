import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { mentionsProtocol } from './schemas.ts'
import { mentionsStorage } from './storage.ts'

/** Mentions: `@id` in a text, on the message and in unread counts (docs/protocol.md, "Mentions"). */
export const mentions: ChatFeature = { name: 'mentions', protocol: mentionsProtocol, storage: mentionsStorage, plugin }
