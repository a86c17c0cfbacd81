import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { repliesProtocol } from './schemas.ts'
import { repliesStorage } from './storage.ts'

/** Replies and threads (docs/protocol.md, "Replies (threads)"). */
export const replies: ChatFeature = { name: 'replies', protocol: repliesProtocol, storage: repliesStorage, plugin }
