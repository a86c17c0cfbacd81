import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { readStorage } from '../read-state/storage.ts'
import { allowedHostsOf } from './endpoint.ts'
import { Notifications } from './notifications.ts'
import routes from './routes.ts'
import type { NotifyFrame, PushSubscribeFrame, PushUnsubscribeFrame } from './schemas.ts'
import { PushSender } from './sender.ts'
import { pushStorage } from './storage.ts'
import type { Made } from './store.ts'
import { PushWorker } from './worker.ts'

/**
 * Push notifications: the `push_subscribe`, `push_unsubscribe` and `notify` frames, GET
 * /push/key, and, with Web Push configured (CHAT_VAPID_*) or `notification.due` among the
 * webhook events, the rule of who is notified of each stored message and the worker that makes
 * windows' ends due and sends the pushes. Without either, a message costs nothing here.
 */
export default fp(async (fastify) => {
  const config = fastify.config
  const store = fastify.engine.port(pushStorage)
  const reads = fastify.engine.port(readStorage)
  const vapid = config.CHAT_VAPID_PUBLIC_KEY === undefined
    ? undefined
    : { publicKey: config.CHAT_VAPID_PUBLIC_KEY, privateKey: config.CHAT_VAPID_PRIVATE_KEY!, subject: config.CHAT_VAPID_SUBJECT! }
  const dueEvents = config.webhooks?.events.has('notification.due') ?? false
  const windowMs = config.CHAT_PUSH_COALESCE_MS

  const pushes = new Counter({
    name: 'chat_pushes_total',
    help: 'Web Push attempts by outcome: delivered (2xx), retried (429, 5xx, no answer), gone (404, 410: the subscription was removed), rejected (another 4xx: dropped), expired (retried past its TTL)',
    labelNames: ['outcome'],
    registers: [fastify.metricsRegistry]
  })
  const due = new Counter({
    name: 'chat_notifications_due_total',
    help: 'Notifications made due (a user away from a room, coalesced per user and room); each is a notification.due event and a push to each of the user\'s subscriptions',
    registers: [fastify.metricsRegistry]
  })
  // eslint-disable-next-line no-new -- registered: collected on each scrape
  new Gauge({
    name: 'chat_push_pending',
    help: 'Web Push deliveries queued (due or waiting for a retry), on every node',
    registers: [fastify.metricsRegistry],
    async collect () { this.set(await store.pending().catch(() => 0)) }
  })

  let worker: PushWorker | undefined
  const made = (result: Made) => {
    due.inc(result.due.length)
    if (result.queued > 0) worker?.wake()
  }
  const notifications = new Notifications({
    hub: fastify.rooms,
    store,
    readers: async (room) => (await reads.reads(room)).map((entry) => entry.user),
    online: async (room) => (await fastify.engine.broker.online(room)).map((entry) => entry.user),
    windowMs,
    push: vapid !== undefined,
    allowedHosts: allowedHostsOf(config.CHAT_PUSH_ALLOWED_HOSTS),
    made,
    failed: (err, count) => fastify.log.warn({ err, count }, 'noting push notifications failed; those are lost')
  })
  fastify.frames.handle<PushSubscribeFrame>('push_subscribe', (connection, frame) => notifications.subscribe(connection, frame))
  fastify.frames.handle<PushUnsubscribeFrame>('push_unsubscribe', (connection, frame) => notifications.unsubscribe(connection, frame))
  fastify.frames.handle<NotifyFrame>('notify', (connection, frame) => notifications.notify(connection, frame))
  fastify.userData.section('pushSubscriptions', (user) => store.subscriptionsOf(user))
  await fastify.register(routes, { publicKey: vapid?.publicKey })
  if (vapid === undefined && !dueEvents) return

  const sender = vapid === undefined ? undefined : new PushSender({ store, vapid, log: fastify.log, outcome: (outcome) => pushes.inc({ outcome }) })
  worker = new PushWorker({ store, sender, windowMs, log: fastify.log, made })
  fastify.messages.on('stored', (message) => {
    notifications.stored(message).catch((err: unknown) => fastify.log.warn({ err, room: message.room, seq: message.seq }, 'noting push notifications failed'))
  })
  fastify.addHook('onReady', async () => worker!.start())
  fastify.addHook('onClose', async () => {
    sender?.stop()
    await notifications.settled()
    await worker!.close()
    await sender?.close()
  })
}, { name: 'push', dependencies: ['rooms', 'frames', 'messages', 'storage', 'metrics', 'read-state', 'user-data'] })
