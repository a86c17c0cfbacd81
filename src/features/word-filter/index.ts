import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'

/** The word filter, CHAT_BLOCKED_WORDS (docs/moderation.md). It adds nothing to the protocol but refusals. */
export const wordFilter: ChatFeature = { name: 'word-filter', protocol: { name: 'word-filter' }, plugin }
