import fp from 'fastify-plugin'
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance { metricsRegistry: Registry }
}

/**
 * Prometheus metrics. Chat figures are read from the hub's plain counters when scraped,
 * so a broadcast costs one addition whatever the number of members.
 * @see https://github.com/siimon/prom-client
 */
export default fp(async (fastify) => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const hub = fastify.rooms
  const connections = fastify.connectionRegistry

  new Gauge({
    name: 'chat_connections',
    help: 'Open WebSocket connections on this node',
    registers: [registry],
    collect () { this.set(connections.size) }
  })
  new Gauge({
    name: 'chat_outbound_buffered_bytes',
    help: 'Bytes waiting to be written to clients on this node',
    registers: [registry],
    collect () { this.set(connections.bufferedBytes()) }
  })
  const totals: [string, string, () => number][] = [
    ['chat_messages_stored_total', 'Messages stored and published by this node', () => hub.stats.messagesStored],
    ['chat_deliveries_total', 'Frames fanned out to room members on this node', () => hub.stats.deliveries],
    ['chat_slow_consumers_total', 'Connections closed with 1013 for not reading', () => hub.stats.slowConsumers]
  ]
  const engineStats = fastify.engine.stats
  if (engineStats !== undefined) {
    new Gauge({
      name: 'chat_redis_rooms_followed',
      help: 'Rooms this node is subscribed to in Redis (those it has members in)',
      registers: [registry],
      collect () { this.set(engineStats().roomsFollowed) }
    })
    totals.push(
      ['chat_redis_gap_repairs_total', 'History reads that filled a gap in a room\'s messages (a cut subscription, a seq jump)', () => engineStats().gapRepairs],
      ['chat_redis_repaired_messages_total', 'Messages delivered from history rather than from their channel', () => engineStats().repairedMessages]
    )
  }
  for (const [name, help, read] of totals) {
    let seen = 0
    new Counter({
      name,
      help,
      registers: [registry],
      collect () {
        const value = read()
        this.inc(value - seen)
        seen = value
      }
    })
  }
  fastify.decorate('metricsRegistry', registry)
}, { name: 'metrics', dependencies: ['rooms', 'connection-registry', 'storage'] })
