import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { readStateProtocol } from './schemas.ts'
import { readStorage } from './storage.ts'

/** Read seqs, unread counts and "seen by" (docs/protocol.md, "Read state"). */
export const readState: ChatFeature = { name: 'read-state', protocol: readStateProtocol, storage: readStorage, plugin }
