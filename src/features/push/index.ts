import type { ChatFeature } from '../feature.ts'
import plugin from './plugin.ts'
import { pushProtocol } from './schemas.ts'
import { pushStorage } from './storage.ts'

/** Push notifications: Web Push to people away, and `notification.due` for an app's own sender (docs/push.md). */
export const push: ChatFeature = { name: 'push', protocol: pushProtocol, storage: pushStorage, plugin }
