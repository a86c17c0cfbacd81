import type { FastifyPluginAsync } from 'fastify'
import type { StorageExtension } from '../engine/extension.ts'
import type { ProtocolPart } from '../schemas/protocol-part.ts'

/**
 * A chat feature: one folder under src/features/, registered by listing it in index.ts.
 * - `protocol`: its schemas (frames, message fields, events), composed with the core's;
 * - `storage`: its store on each engine, built when the engine starts (absent: it stores nothing);
 * - `plugin`: a fastify-plugin that wires its logic to the hub (frame handlers, event kinds,
 *   listeners) and registers its routes.
 */
export interface ChatFeature {
  name: string
  protocol: ProtocolPart
  storage?: StorageExtension
  plugin: FastifyPluginAsync
}
