import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { reportsProtocol } from './schemas.ts'
import { reportsStorage } from './storage.ts'

/** Reports and the moderation queue (docs/moderation.md). */
export const reports: ChatFeature = { name: 'reports', protocol: reportsProtocol, storage: reportsStorage, plugin }
