import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'

/** The pre-send hook, CHAT_PRESEND_URL (docs/moderation.md). It adds nothing to the protocol but refusals. */
export const presendHook: ChatFeature = { name: 'presend-hook', protocol: { name: 'presend-hook' }, plugin }
