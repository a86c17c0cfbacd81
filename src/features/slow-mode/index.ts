import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { slowModeProtocol } from './schemas.ts'
import { slowModeStorage } from './storage.ts'

/** Slow mode: the least time between two messages of a member (docs/moderation.md). */
export const slowMode: ChatFeature = { name: 'slow-mode', protocol: slowModeProtocol, storage: slowModeStorage, plugin }
