import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { editsProtocol } from './schemas.ts'
import { editsStorage } from './storage.ts'

/** Edits and deletes of messages (docs/protocol.md, "Edit and delete"). */
export const messageEdits: ChatFeature = { name: 'message-edits', protocol: editsProtocol, storage: editsStorage, plugin }
