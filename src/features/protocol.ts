import { composeProtocol } from '../protocol/compose.ts'
import { MessageCore } from '../schemas/common.ts'
import { coreProtocol } from '../schemas/frames.ts'
import { features } from './index.ts'

/** The service's wire protocol: the core's and every feature's schemas, composed. */
export const serviceProtocol = composeProtocol([coreProtocol, ...features.map((feature) => feature.protocol)], MessageCore)
