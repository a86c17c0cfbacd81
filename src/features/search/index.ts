import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { searchProtocol } from './schemas.ts'
import { searchStorage } from './storage.ts'

/** Search of messages by their words, on every engine (docs/protocol.md#search). */
export const search: ChatFeature = { name: 'search', protocol: searchProtocol, storage: searchStorage, plugin }
