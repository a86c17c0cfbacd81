import type { ChatHub } from '../../hub/chat-hub.ts'
import type { Connection } from '../../hub/connection.ts'
import type { Message } from '../../schemas/common.ts'
import { subscriptionRefusal } from './endpoint.ts'
import { payloadOf } from './payload.ts'
import type { NotifyFrame, PushSubscribeFrame, PushUnsubscribeFrame } from './schemas.ts'
import type { Made, Notification, PushStore } from './store.ts'

export interface NotificationsOptions {
  hub: ChatHub
  store: PushStore
  /** Users with a read seq in the room (the read state's). */
  readers: (room: string) => Promise<string[]>
  /** Users with a connection joined to the room, on any node. */
  online: (room: string) => Promise<string[]>
  windowMs: number
  /** Web Push is configured: due notifications go to the users' subscriptions. */
  push: boolean
  /** Hosts an endpoint may name though internal (CHAT_PUSH_ALLOWED_HOSTS). */
  allowedHosts: ReadonlySet<string>
  /** Something was made due (deliveries queued, events recorded). */
  made: (made: Made) => void
  /** Noting failed (storage unreachable): those notifications are lost, and this says so. */
  failed: (err: unknown, count: number) => void
}

/** Notifications written in one step at most. */
const NOTE_BATCH = 500

/**
 * Who is notified of a message, and the frames that set it up. When a message is stored, every
 * user with a read seq in or a grant to its room, other than its sender, with no connection
 * joined to the room, whose level allows it (`mentions`: only if the message mentions the user)
 * has a notification noted: due at once when the user's window in the room is not open, else
 * kept (the newest) for the window's end (PushStore.note). Notes are written together: what
 * messages of every room bring while a write is under way goes in the next one, so a busy node
 * writes a batch, not a transaction per message.
 */
export class Notifications {
  /** Per room, the reads under way: one message's notes are queued after the previous one's, so a newer one never lands first. */
  private readonly lanes = new Map<string, Promise<void>>()
  private readonly queued: Notification[] = []
  private writing: Promise<void> | undefined
  private scheduled = false

  constructor (private readonly options: NotificationsOptions) {}

  async subscribe (connection: Connection, frame: PushSubscribeFrame): Promise<void> {
    const refusal = subscriptionRefusal(frame.subscription, this.options.allowedHosts)
    if (refusal !== undefined) return this.options.hub.reply(connection, 'bad_request', refusal, frame.ref)
    await this.options.store.subscribe(connection.user, frame.subscription)
    connection.send(frame.ref === undefined ? { type: 'ack' } : { type: 'ack', ref: frame.ref })
  }

  async unsubscribe (connection: Connection, frame: PushUnsubscribeFrame): Promise<void> {
    await this.options.store.unsubscribe(connection.user, frame.endpoint)
    connection.send(frame.ref === undefined ? { type: 'ack' } : { type: 'ack', ref: frame.ref })
  }

  async notify (connection: Connection, frame: NotifyFrame): Promise<void> {
    const { room, ref } = frame
    const refusal = await this.options.hub.refusal(connection, room)
    if (refusal !== undefined) return this.options.hub.reply(connection, refusal.code, refusal.message, ref)
    if (!await this.options.store.setLevel(room, connection.user, frame.level ?? 'all')) {
      return this.options.hub.reply(connection, 'not_found', `room ${room} does not exist`, ref)
    }
    connection.send(ref === undefined ? { type: 'ack', room } : { type: 'ack', room, ref })
  }

  /** A new message was stored (on this node): notes its notifications, after the room's previous message's. */
  stored (message: Message): Promise<void> {
    const { room } = message
    const previous = this.lanes.get(room) ?? Promise.resolve()
    const next = previous.then(() => this.note(message))
    // The lane never rejects: a message whose reads failed must not stop the room's next ones.
    const lane: Promise<void> = next.then(() => {}, () => {}).then(() => {
      if (this.lanes.get(room) === lane) this.lanes.delete(room)
    })
    this.lanes.set(room, lane)
    return next
  }

  private async note (message: Message & { mentions?: string[] }): Promise<void> {
    const { room, user: sender } = message
    const [readers, audience, online] = await Promise.all([this.options.readers(room), this.options.store.audience(room), this.options.online(room)])
    const away = new Set([...readers, ...audience.grantees])
    away.delete(sender)
    for (const user of online) away.delete(user)
    if (away.size === 0) return
    const mentioned = new Set(message.mentions ?? [])
    let payload: string | undefined
    const items: Notification[] = []
    for (const user of away) {
      const level = audience.levels[user] ?? 'all'
      if (level === 'none' || (level === 'mentions' && !mentioned.has(user))) continue
      payload ??= payloadOf(message)
      items.push({ user, room, seq: message.seq, payload })
    }
    if (items.length === 0) return
    this.queued.push(...items)
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.write())
  }

  /** Writes what is queued, one batch at a time; what comes meanwhile waits for the next. */
  private write (): void {
    this.scheduled = false
    if (this.writing !== undefined || this.queued.length === 0) return
    const items = this.queued.splice(0, NOTE_BATCH)
    this.writing = this.options.store.note(items, { windowMs: this.options.windowMs, push: this.options.push, now: Date.now() })
      .then((made) => this.options.made(made), (err: unknown) => this.options.failed(err, items.length))
      .finally(() => {
        this.writing = undefined
        this.write()
      })
  }

  /** Resolves once the notes under way are written. */
  async settled (): Promise<void> {
    await Promise.allSettled([...this.lanes.values()])
    for (let rounds = 0; rounds < 100 && (this.writing !== undefined || this.queued.length > 0); rounds++) {
      if (this.writing === undefined) this.write()
      await this.writing
    }
  }
}
