import type { FastifyBaseLogger } from 'fastify'
import type { TSchema } from 'typebox'
import type { ChatEngine, OnlineUser, RoomEvent, RoomRecord } from '../engine/types.ts'
import { NotFoundError } from '../engine/types.ts'
import { type ErrorCode, type Message } from '../schemas/common.ts'
import type { JoinedFrame, JoinFrame, LeaveFrame, PresenceFrame, ServerFrame } from '../schemas/frames.ts'
import type { ChatStats } from '../shared/chat-stats.ts'
import { CloseCode, type Connection } from './connection.ts'
import type { ConnectionRegistry } from './connection-registry.ts'
import { frameText } from './framing.ts'
import { type Held, type Joining, Members, replayHeld, type RoomMembers } from './members.ts'
import { readRefusal, type Refusal } from './room-access.ts'
import { RoomPowers } from './room-powers.ts'

/** What features hook into, so that the hub keeps only membership and fan-out. */
export interface HubListeners {
  /** The user's last connection in the room, on every node, has left it. */
  left: (room: string, user: string) => void
  /** Fields a feature adds to the `joined` frame, read while the join is in progress. */
  joining: (connection: Connection, room: string, latestSeq: number) => Promise<Record<string, unknown>>
  /** An event this node received, after the hub has delivered it to the room's members here. */
  event: (event: RoomEvent) => void
}

export interface HubOptions {
  engine: ChatEngine
  registry: ConnectionRegistry
  log: FastifyBaseLogger
  autoCreateRooms: boolean
  maxRoomsPerConnection: number
  /** Where the hub counts what it does (read by /metrics). */
  stats: ChatStats
}

/** A join refused after it started: the grant went away meanwhile. */
class Forbidden extends Error {}

/**
 * The hub: room membership on this node, presence, and fan-out. Every state change that
 * must not race with a broadcast is synchronous; where the engine must be awaited (a join
 * reading history), the connection is registered first and frames that arrive meanwhile
 * are held and replayed in seq order, so nothing is lost and nothing is sent twice.
 *
 * Features reach members through it: `broadcast` (this node's members), `publishFeature` (every
 * node's, through the engine), their own event kinds (`onFeatureEvent`) and the listeners.
 */
export class ChatHub {
  readonly stats: ChatStats
  private readonly members = new Members()
  private readonly engine: ChatEngine
  private readonly registry: ConnectionRegistry
  private readonly log: FastifyBaseLogger
  private readonly options: HubOptions
  private readonly listeners: { [K in keyof HubListeners]: HubListeners[K][] } = { left: [], joining: [], event: [] }
  private readonly featureEvents = new Map<string, (room: string, data: unknown) => void>()
  /** Roles and join refusals, as features say (RoomPowers). */
  readonly powers = new RoomPowers()

  constructor (options: HubOptions) {
    this.options = options
    this.engine = options.engine
    this.registry = options.registry
    this.log = options.log
    this.stats = options.stats
    this.engine.broker.subscribe((event) => this.onEvent(event))
  }

  on<K extends keyof HubListeners> (name: K, listener: HubListeners[K]): void {
    this.listeners[name].push(listener)
  }

  /**
   * A feature's event kind: `data` is checked against `schema` when it arrives from another
   * node, and `deliver` shows it to this node's members (usually with `broadcast`).
   */
  onFeatureEvent<T> (name: string, schema: TSchema, deliver: (room: string, data: T) => void): void {
    this.engine.events.define(name, schema)
    this.featureEvents.set(name, deliver as (room: string, data: unknown) => void)
  }

  /** Whether this connection has joined (or is joining) the room. */
  isMember (connection: Connection, room: string): boolean {
    return connection.rooms.has(room)
  }

  /** Whether this node has a member in the room. */
  hasMembers (room: string): boolean {
    return this.members.get(room) !== undefined
  }

  /** The highest message seq this node has delivered in the room (0 without members here). */
  deliveredSeq (room: string): number {
    return this.members.get(room)?.seq ?? 0
  }

  /**
   * Whether the connection may read a room it has not joined: not_found for an unknown room,
   * forbidden for a private room without a grant; undefined when it may.
   */
  refusal (connection: Connection, room: string): Promise<Refusal | undefined> {
    return connection.rooms.has(room) ? Promise.resolve(undefined) : readRefusal(this.engine.store, connection.user, room)
  }

  /** This node's live members of the room (joined, not joining). */
  liveMembers (room: string): Iterable<Connection> {
    return this.members.get(room)?.live ?? []
  }

  /** True when the broker delivers a published event before `publish` returns (the local engine). */
  get deliversAtOnce (): boolean {
    return this.engine.broker.deliversAtOnce === true
  }

  /**
   * A change storage has made: on an engine whose storage publishes in the step of the change
   * (Redis), that was done; otherwise it is published now.
   */
  stored (event: RoomEvent): void {
    if (!this.engine.storagePublishes) this.engine.broker.publish(event)
  }

  /** Publishes a feature's event to the room's members on every node. */
  publishFeature (name: string, room: string, data: unknown): void {
    this.engine.broker.publish({ kind: 'feature', name, room, data })
  }

  /** Serializes and frames once, then writes the same bytes to every live member here. */
  broadcast (room: string, frame: ServerFrame): void {
    const members = this.members.get(room)
    if (members !== undefined) this.deliver(members, JSON.stringify(frame), undefined, undefined, undefined)
  }

  private deliver (members: RoomMembers, text: string, seq: number | undefined, skipUser: string | undefined, presence: Held['presence']): void {
    const started = performance.now()
    const framed = frameText(text)
    let delivered = 0
    for (const connection of members.live) {
      if (connection.user === skipUser) continue
      connection.sendFramed(framed, text)
      delivered++
    }
    this.stats.deliveries += delivered
    this.stats.fanout.observe((performance.now() - started) / 1000)
    if (members.joining.size === 0) return
    for (const [connection, joining] of members.joining) {
      if (connection.user !== skipUser) joining.held.push({ seq, framed, text, presence })
    }
  }

  // ---- WebSocket frames -------------------------------------------------------------

  async join (connection: Connection, frame: JoinFrame): Promise<void> {
    const { room, since, ref } = frame
    const rejoin = connection.rooms.has(room)
    if (!rejoin && connection.rooms.size >= this.options.maxRoomsPerConnection) {
      return this.reply(connection, 'forbidden', `a connection may join at most ${this.options.maxRoomsPerConnection} rooms`, ref)
    }
    const record = await this.roomForJoin(room)
    if (record === undefined) return this.reply(connection, 'not_found', `room ${room} does not exist`, ref)
    const store = this.engine.store
    if (record.private && !(await store.hasGrant(room, connection.user))) {
      return this.reply(connection, 'forbidden', `room ${room} is private and ${connection.user} has no grant`, ref)
    }
    const refused = await this.powers.joinRefusal(connection, room)
    if (refused !== undefined) return this.reply(connection, refused.code, refused.message, ref)
    if (connection.closed) return

    // From here on, frames for this room are held for the connection until it is caught up.
    const members = this.members.of(room)
    const joining: Joining = { held: [], rejoin }
    members.live.delete(connection)
    members.joining.set(connection, joining)
    connection.rooms.add(room)

    let first = false
    let recovery
    let online: OnlineUser[]
    const extra: Record<string, unknown> = {}
    try {
      if (!rejoin) {
        this.members.countIn(room, connection)
        first = await this.engine.broker.presenceAdd(room, connection.user, connection.id)
      }
      recovery = since === undefined
        ? { latestSeq: await store.latestSeq(room), changed: [] as Message[], messages: [] as Message[], recovered: true }
        : await store.recover(room, since)
      online = await this.engine.broker.online(room)
      // A grant revoked while the engine started following the room may have announced its
      // kick before this node listened: ask again now that it does.
      if (record.private && !rejoin && !(await store.hasGrant(room, connection.user))) throw new Forbidden()
      for (const listener of this.listeners.joining) Object.assign(extra, await listener(connection, room, recovery.latestSeq))
    } catch (err) {
      const announced = this.members.detach(connection, room)
      await this.leftRoom(connection, room, announced).catch(() => {})
      // The room was deleted, or the grant revoked, while the join was under way.
      if (err instanceof NotFoundError) return this.reply(connection, 'not_found', `room ${room} does not exist`, ref)
      if (err instanceof Forbidden) return this.reply(connection, 'forbidden', `room ${room} is private and ${connection.user} has no grant`, ref)
      this.stats.storageErrors++
      connection.log.error({ err, room }, 'join failed')
      return this.reply(connection, 'internal', 'join failed; try again', ref)
    }

    // Kicked, deleted or disconnected while reading: that exit path has cleaned up.
    if (members.joining.get(connection) !== joining) return

    const joined: JoinedFrame = { type: 'joined', room, seq: recovery.latestSeq, members: online.map((entry) => entry.user), ...extra }
    if (since !== undefined) joined.recovered = recovery.recovered
    if (ref !== undefined) joined.ref = ref
    connection.send(joined)
    // Older messages changed while the client was away, then the ones it has not seen.
    for (const message of recovery.changed) connection.send({ type: 'updated', room, message })
    for (const message of recovery.messages) connection.send({ type: 'message', ...message })
    if (recovery.latestSeq > members.seq) members.seq = recovery.latestSeq
    replayHeld(connection, joining.held, recovery.latestSeq, new Set(joined.members))
    members.joining.delete(connection)
    members.live.add(connection)

    if (first) this.publishPresence(room, 'join', connection.user)
  }

  async leave (connection: Connection, frame: LeaveFrame): Promise<void> {
    const { room, ref } = frame
    if (!connection.rooms.has(room)) return this.reply(connection, 'not_member', `not a member of room ${room}`, ref)
    const announced = this.members.detach(connection, room)
    connection.send(ref === undefined ? { type: 'left', room } : { type: 'left', room, ref })
    await this.leftRoom(connection, room, announced)
  }

  /** Every exit path of a connection ends here; it runs once. */
  async disconnect (connection: Connection): Promise<void> {
    if (connection.closed) return
    connection.closed = true
    this.registry.remove(connection)
    // The connection keeps its list of rooms, for the line logged when its socket closes.
    const rooms = [...connection.rooms].map((room) => ({ room, announced: this.members.detach(connection, room, false) }))
    for (const { room, announced } of rooms) {
      await this.leftRoom(connection, room, announced)
        .catch((err: unknown) => this.presenceFailed(err, room))
    }
  }

  /** Closes a connection that cannot keep up, and frees its place in every room at once. */
  dropSlowConsumer (connection: Connection): void {
    if (connection.closed) return
    this.stats.slowConsumers++
    connection.log.warn({ bufferedAmount: connection.socket.bufferedAmount, rooms: [...connection.rooms] }, 'slow consumer closed')
    // ws queues the close frame behind the buffered data and destroys the socket if the
    // peer never reads it (closeTimeout, 30 s).
    connection.close(CloseCode.tryAgainLater, 'slow consumer')
    void this.disconnect(connection)
  }

  /** Rooms with members on this node, and the memberships (connection in a room) they hold. */
  membership (): { rooms: number, memberships: number } {
    return this.members.size()
  }

  /** Answers a frame with an error. */
  reply (connection: Connection, code: ErrorCode, message: string, ref: string | undefined): void {
    connection.send(ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref })
  }

  // ---- internals ---------------------------------------------------------------------

  private onEvent (event: RoomEvent): void {
    switch (event.kind) {
      case 'message': {
        const { message } = event
        const members = this.members.get(message.room)
        if (members === undefined) break
        if (message.seq > members.seq) members.seq = message.seq
        // The message frame is the message with its type first: no copy of the object to make it,
        // and no stringify when the event came with the message's JSON.
        this.deliver(members, '{"type":"message",' + (event.json ?? JSON.stringify(message)).slice(1), message.seq, undefined, undefined)
        break
      }
      case 'updated':
        this.broadcast(event.message.room, { type: 'updated', room: event.message.room, message: event.message })
        break
      case 'presence': {
        // To the others; a joiner's held presence is compared with the members its join read.
        const members = this.members.get(event.room)
        const frame: PresenceFrame = { type: 'presence', room: event.room, event: event.event, user: event.user, time: event.time }
        if (members !== undefined) this.deliver(members, JSON.stringify(frame), undefined, event.user, { event: event.event, user: event.user })
        break
      }
      case 'kick':
        this.kick(event.room, event.user, event.reason)
        break
      case 'room_deleted':
        this.roomDeleted(event.room)
        break
      case 'feature':
        this.featureEvents.get(event.name)?.(event.room, event.data)
        break
    }
    for (const listener of this.listeners.event) listener(event)
  }

  private kick (room: string, user: string, reason: string): void {
    const members = this.members.get(room)
    if (members === undefined) return
    const kicked = [...members.live, ...members.joining.keys()]
      .filter((connection) => connection.user === user)
      .map((connection) => ({ connection, announced: this.members.detach(connection, room) }))
    for (const { connection } of kicked) connection.send({ type: 'kicked', room, reason })
    for (const { connection, announced } of kicked) {
      this.leftRoom(connection, room, announced)
        .catch((err: unknown) => this.presenceFailed(err, room))
    }
  }

  private roomDeleted (room: string): void {
    const members = this.members.drop(room)
    if (members === undefined) return
    const text = JSON.stringify({ type: 'room_deleted', room })
    for (const connection of [...members.live, ...members.joining.keys()]) {
      connection.rooms.delete(room)
      connection.sendText(text)
    }
    members.joining.clear()
  }

  private async roomForJoin (room: string): Promise<RoomRecord | undefined> {
    const store = this.engine.store
    const record = await store.getRoom(room)
    if (record !== undefined || !this.options.autoCreateRooms) return record
    return (await store.createRoom({ id: room })) ?? await store.getRoom(room)
  }

  /** After a detach: uncounts presence and tells the others when the user's last connection left. */
  private async leftRoom (connection: Connection, room: string, announce: boolean): Promise<void> {
    if (!this.members.countOut(room, connection)) return
    const last = await this.engine.broker.presenceRemove(room, connection.user, connection.id)
    if (last && announce) this.publishPresence(room, 'leave', connection.user)
    if (last) for (const listener of this.listeners.left) listener(room, connection.user)
  }

  private presenceFailed (err: unknown, room: string): void {
    this.stats.storageErrors++
    this.log.error({ err, room }, 'presence update failed')
  }

  private publishPresence (room: string, event: 'join' | 'leave', user: string): void {
    this.engine.broker.publish({ kind: 'presence', room, event, user, time: new Date().toISOString() })
  }
}
