import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { moderationProtocol } from './schemas.ts'
import { sanctionsStorage } from './storage.ts'

/** Kicks, bans and mutes by owners and moderators (docs/moderation.md). */
export const moderation: ChatFeature = { name: 'moderation', protocol: moderationProtocol, storage: sanctionsStorage, plugin }
