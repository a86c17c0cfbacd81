/* eslint-disable no-new -- a prom-client metric registers itself with the registry it is given */
import fp from 'fastify-plugin'
import { Counter, Gauge, type Metric, Registry, collectDefaultMetrics } from 'prom-client'
import type { Buckets, ChatStats } from '../src/shared/chat-stats.ts'

declare module 'fastify' {
  interface FastifyInstance { metricsRegistry: Registry }
}

/** Counters that follow a plain number of ChatStats, read when scraped. */
const TOTALS: [name: string, help: string, field: keyof ChatStats][] = [
  ['chat_connections_opened_total', 'WebSocket connections opened on this node', 'connectionsOpened'],
  ['chat_messages_stored_total', 'Messages stored and published by this node', 'messagesStored'],
  ['chat_deliveries_total', 'Frames fanned out to room members on this node', 'deliveries'],
  ['chat_slow_consumers_total', 'Connections closed with 1013 for not reading', 'slowConsumers'],
  ['chat_heartbeat_timeouts_total', 'Connections terminated for missing a pong (heartbeat reaps)', 'heartbeatTimeouts'],
  ['chat_auth_failures_total', 'Refused JWTs (upgrades and refresh frames) and wrong admin tokens', 'authFailures'],
  ['chat_requests_rate_limited_total', 'REST calls and WebSocket upgrades answered 429 by the per-IP limit', 'requestsRateLimited'],
  ['chat_storage_errors_total', 'Storage operations that failed while serving a client or an operator (frames answered internal, REST 5xx)', 'storageErrors'],
  ['chat_redis_errors_total', 'Errors reported by the Redis engine: lost connections, failed publishes, failed heartbeats', 'redisErrors']
]

/** Counters that follow a figure of the Redis engine (ChatEngine.stats), read when scraped. */
const ENGINE_TOTALS: [name: string, help: string, field: 'gapRepairs' | 'repairedMessages' | 'seqRaises' | 'lostSeqs'][] = [
  ['chat_redis_gap_repairs_total', 'History reads that filled a gap in a room\'s messages (a cut subscription, a seq jump, a slow message)', 'gapRepairs'],
  ['chat_redis_repaired_messages_total', 'Messages delivered from history rather than from their channel', 'repairedMessages'],
  ['chat_redis_seq_raises_total', 'Times a room\'s seq in Redis was behind what this node had delivered (a failover to a replica that lacked the last writes) and was raised rather than reused', 'seqRaises'],
  ['chat_redis_lost_seqs_total', 'Messages lost with such a failover as this node saw it: seqs it delivered that Redis no longer had, or missing from history though never trimmed', 'lostSeqs']
]

/** Counters with one label, following a plain object of counts of ChatStats. */
const LABELLED: [name: string, help: string, label: string, field: 'framesReceived' | 'errorsSent' | 'webhookDeliveries'][] = [
  ['chat_frames_received_total', 'Client frames received, by type (`invalid`: not a valid frame)', 'type', 'framesReceived'],
  ['chat_errors_sent_total', 'Error frames sent to clients, by code', 'code', 'errorsSent'],
  ['chat_webhook_deliveries_total', 'Webhook delivery attempts by outcome: delivered (2xx), failed (retried later), parked (the last attempt failed)', 'outcome', 'webhookDeliveries']
]

/**
 * Prometheus metrics. Chat figures are plain numbers that the hub and the routes bump
 * (ChatStats) and that are read here when scraped, so recording costs an addition, and a
 * broadcast costs one whatever the number of members.
 * @see https://github.com/siimon/prom-client
 */
export default fp(async (fastify) => {
  const registry = new Registry()
  defaultMetrics(registry)
  const stats = fastify.chatStats
  const hub = fastify.rooms
  const connections = fastify.connectionRegistry
  const engine = fastify.engine
  const registers = [registry]

  new Gauge({
    name: 'chat_connections',
    help: 'Open WebSocket connections on this node',
    registers,
    collect () { this.set(connections.size) }
  })
  new Gauge({
    name: 'chat_memberships',
    help: 'Room memberships (a connection joined to a room) on this node',
    registers,
    collect () { this.set(hub.membership().memberships) }
  })
  new Gauge({
    name: 'chat_rooms_with_members',
    help: 'Rooms with at least one member connected to this node',
    registers,
    collect () { this.set(hub.membership().rooms) }
  })
  new Gauge({
    name: 'chat_outbound_buffered_bytes',
    help: 'Bytes waiting to be written to clients on this node',
    registers,
    collect () { this.set(connections.bufferedBytes()) }
  })
  new Gauge({
    name: 'chat_ready',
    help: 'Whether storage (and Redis, if used) answer: 1 ready, 0 not (as GET /readyz)',
    registers,
    async collect () {
      const [store, broker] = await Promise.all([engine.store.ready(), engine.broker.ready()])
      this.set(store && broker ? 1 : 0)
    }
  })

  /** A counter that follows a running total kept elsewhere. */
  const following = (name: string, help: string, read: () => number) => {
    let seen = 0
    new Counter({
      name,
      help,
      registers,
      collect () {
        const value = read()
        this.inc(value - seen)
        seen = value
      }
    })
  }
  for (const [name, help, field] of TOTALS) following(name, help, () => stats[field] as number)
  const engineStats = engine.stats
  if (engineStats !== undefined) {
    new Gauge({
      name: 'chat_redis_rooms_followed',
      help: 'Rooms this node is subscribed to in Redis (those it has members in)',
      registers,
      collect () { this.set(engineStats().roomsFollowed) }
    })
    for (const [name, help, field] of ENGINE_TOTALS) following(name, help, () => engineStats()[field])
  }
  for (const [name, help, label, field] of LABELLED) {
    const seen: Record<string, number> = {}
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect () {
        for (const [key, value] of Object.entries(stats[field])) {
          this.inc({ [label]: key }, value - (seen[key] ?? 0))
          seen[key] = value
        }
      }
    })
  }
  registry.registerMetric(bucketsHistogram('chat_fanout_duration_seconds',
    'Time to serialize a broadcast and write it to every member on this node', stats.fanout))
  registry.registerMetric(bucketsHistogram('chat_webhook_delivery_seconds',
    'Webhook events answered 2xx: seconds from the event (the change it reports) to the answer, retries included', stats.webhookLatency))
  const webhooks = engine.webhooks
  const configured = fastify.config.webhooks !== undefined
  new Gauge({
    name: 'chat_webhook_pending',
    help: 'Webhook events waiting for delivery to at least one URL (on Redis: in the partitions this node answers for)',
    registers,
    async collect () { this.set(configured ? await webhooks.pending() : 0) }
  })

  fastify.decorate('metricsRegistry', registry)
}, { name: 'metrics', dependencies: ['chat-stats', 'storage', 'rooms', 'connection-registry'] })

/**
 * prom-client's process and Node.js metrics, less the gauges whose names end in `_total`
 * (`nodejs_active_handles_total` …): Prometheus keeps that suffix for counters, so
 * `promtool check metrics` reports them, and each only sums a labelled gauge that stays.
 */
function defaultMetrics (registry: Registry): void {
  collectDefaultMetrics({ register: registry })
  for (const metric of registry.getMetricsAsArray()) {
    const { name, constructor } = metric as unknown as { name: string, constructor: unknown }
    if (constructor !== Counter && name.endsWith('_total')) registry.removeSingleMetric(name)
  }
}

/**
 * A Prometheus histogram over counts kept elsewhere (the fan-out time, webhook latency).
 * Written out here rather than with prom-client's Histogram, whose observe() allocates on
 * every call; the hub keeps plain counts like every other figure, and prom-client formats them.
 */
function bucketsHistogram (name: string, help: string, buckets: Buckets): Metric {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => {
      const values = []
      let cumulative = 0
      for (let i = 0; i <= buckets.bounds.length; i++) {
        cumulative += buckets.counts[i]!
        values.push({ metricName: `${name}_bucket`, labels: { le: i < buckets.bounds.length ? buckets.bounds[i]! : '+Inf' }, value: cumulative })
      }
      values.push({ metricName: `${name}_sum`, labels: {}, value: buckets.sum })
      values.push({ metricName: `${name}_count`, labels: {}, value: buckets.count })
      return { name, help, type: 'histogram', aggregator: 'sum', values }
    },
    reset: () => {}
  }
  return metric as unknown as Metric
}
