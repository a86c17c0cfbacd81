import type { Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { Appended, ChatEngine, OnlineUser, RoomEvent, RoomRecord } from '../engine/types.ts'
import { NotFoundError } from '../engine/types.ts'
import { roomObject } from '../engine/shared/room-record.ts'
import { type ErrorCode, LIMIT_DEFAULT, type Message } from '../schemas/common.ts'
import type { AckFrame, HistoryFrame, JoinedFrame, JoinFrame, LeaveFrame, MessageFrame, ServerFrame } from '../schemas/frames.ts'
import type { ChatStats } from '../shared/chat-stats.ts'
import { CloseCode, type Connection } from './connection.ts'
import type { ConnectionRegistry } from './connection-registry.ts'
import { type Framed, frameText, rawSocket } from './framing.ts'

/** A frame held for a connection whose join is still reading history. */
interface Held { seq: number | undefined, framed: Framed, text: string, presence?: { event: 'join' | 'leave', user: string } }

/** A join in progress: the frames that arrived meanwhile, and whether it repeats a join. */
interface Joining { held: Held[], rejoin: boolean }

/** This process's members of one room. */
interface RoomMembers {
  /** Connections receiving live frames. */
  live: Set<Connection>
  /** Connections whose join is in progress. */
  joining: Map<Connection, Joining>
  /** The highest message seq this node has delivered in the room. */
  seq: number
}

/**
 * What chat features (typing, read state, edits) hook into, so that the hub keeps only
 * membership and fan-out and each feature stays in its own module.
 */
export interface HubListeners {
  /**
   * A message from this connection was stored (a duplicate is not); `senderRead` when the
   * sender's read seq moved to it in the same step.
   */
  sent: (connection: Connection, message: Message, senderRead: boolean) => void
  /** The user's last connection in the room, on every node, has left it. */
  left: (room: string, user: string) => void
  /** Fields a feature adds to the `joined` frame, read while the join is in progress. */
  joining: (connection: Connection, room: string, latestSeq: number) => Promise<Partial<JoinedFrame>>
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
 */
export class ChatHub {
  readonly stats: ChatStats
  private readonly rooms = new Map<string, RoomMembers>()
  /**
   * Per room, this node's connections counted in the broker's presence. Kept apart from
   * membership because a connection leaves the room at once but is uncounted after an await.
   */
  private readonly counted = new Map<string, Set<Connection>>()
  private readonly engine: ChatEngine
  private readonly registry: ConnectionRegistry
  private readonly log: FastifyBaseLogger
  private readonly options: HubOptions
  private readonly listeners: { [K in keyof HubListeners]: HubListeners[K][] } = { sent: [], left: [], joining: [], event: [] }

  constructor (options: HubOptions) {
    this.options = options
    this.engine = options.engine
    this.registry = options.registry
    this.log = options.log
    this.stats = options.stats
    this.engine.broker.subscribe((event) => this.onEvent(event))
  }

  get store () {
    return this.engine.store
  }

  get broker () {
    return this.engine.broker
  }

  on<K extends keyof HubListeners> (name: K, listener: HubListeners[K]): void {
    this.listeners[name].push(listener)
  }

  /** Whether this connection has joined (or is joining) the room. */
  isMember (connection: Connection, room: string): boolean {
    return connection.rooms.has(room)
  }

  /** Whether this node has a member in the room. */
  hasMembers (room: string): boolean {
    return this.rooms.has(room)
  }

  /** The highest message seq this node has delivered in the room (0 without members here). */
  deliveredSeq (room: string): number {
    return this.rooms.get(room)?.seq ?? 0
  }

  /**
   * Whether the connection may read a room it has not joined: not_found for an unknown room,
   * forbidden for a private room without a grant; undefined when it may.
   */
  async refusal (connection: Connection, room: string): Promise<{ code: ErrorCode, message: string } | undefined> {
    if (connection.rooms.has(room)) return undefined
    const record = await this.store.getRoom(room)
    if (record === undefined) return { code: 'not_found', message: `room ${room} does not exist` }
    if (record.private && !(await this.store.hasGrant(room, connection.user))) {
      return { code: 'forbidden', message: `room ${room} is private` }
    }
    return undefined
  }

  /**
   * Runs `write` with the sockets of every member here of `rooms` corked, so that the events it
   * publishes leave in one write per member instead of one per frame. Only a broker that
   * delivers at once (the local one) writes while the sockets are corked; with Redis the events
   * come back later, so nothing is corked.
   */
  corkMembers (rooms: Iterable<string>, write: () => void): void {
    if (this.engine.broker.deliversAtOnce !== true) return write()
    const sockets: Socket[] = []
    for (const room of rooms) {
      for (const connection of this.rooms.get(room)?.live ?? []) {
        const socket = rawSocket(connection.socket)
        if (socket === undefined) continue
        socket.cork()
        sockets.push(socket)
      }
    }
    try {
      write()
    } finally {
      for (const socket of sockets) socket.uncork()
    }
  }

  /** Hands an event to every node (this one included), which delivers it to its members. */
  publish (event: RoomEvent): void {
    this.engine.broker.publish(event)
  }

  /** Serializes and frames once, then writes the same bytes to every live member here. */
  broadcast (room: string, frame: ServerFrame, seq?: number, skipUser?: string): void {
    const members = this.rooms.get(room)
    if (members === undefined) return
    const presence = frame.type === 'presence' ? { event: frame.event, user: frame.user } : undefined
    this.deliver(members, JSON.stringify(frame), seq, skipUser, presence)
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
    if (record.private && !(await this.store.hasGrant(room, connection.user))) {
      return this.reply(connection, 'forbidden', `room ${room} is private and ${connection.user} has no grant`, ref)
    }
    if (connection.closed) return

    // From here on, frames for this room are held for the connection until it is caught up.
    const members = this.membersOf(room)
    const joining: Joining = { held: [], rejoin }
    members.live.delete(connection)
    members.joining.set(connection, joining)
    connection.rooms.add(room)

    let first = false
    let recovery
    let online: OnlineUser[]
    const extra: Partial<JoinedFrame> = {}
    try {
      if (!rejoin) {
        this.countIn(room, connection)
        first = await this.engine.broker.presenceAdd(room, connection.user, connection.id)
      }
      recovery = since === undefined
        ? { latestSeq: await this.store.latestSeq(room), changed: [] as Message[], messages: [] as Message[], recovered: true }
        : await this.store.recover(room, since)
      online = await this.engine.broker.online(room)
      // A grant revoked while the engine started following the room may have announced its
      // kick before this node listened: ask again now that it does.
      if (record.private && !rejoin && !(await this.store.hasGrant(room, connection.user))) throw new Forbidden()
      for (const listener of this.listeners.joining) Object.assign(extra, await listener(connection, room, recovery.latestSeq))
    } catch (err) {
      const announced = this.detach(connection, room)
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

    const joined: JoinedFrame = {
      type: 'joined', room, seq: recovery.latestSeq, members: online.map((entry) => entry.user), ...extra
    }
    if (since !== undefined) joined.recovered = recovery.recovered
    if (ref !== undefined) joined.ref = ref
    connection.send(joined)
    // Older messages changed while the client was away, then the ones it has not seen.
    for (const message of recovery.changed) connection.send({ type: 'updated', room, message })
    for (const message of recovery.messages) connection.send({ type: 'message', ...message })
    if (recovery.latestSeq > members.seq) members.seq = recovery.latestSeq
    // Held presence that `members` already shows is not news (with a broker, events arrive
    // after the change they announce, so a join read just now may still be on its way).
    const present = new Set(joined.members)
    for (const frame of joining.held) {
      if (frame.presence !== undefined) {
        const { event, user } = frame.presence
        if ((event === 'join') === present.has(user)) continue
        if (event === 'join') present.add(user)
        else present.delete(user)
      } else if (frame.seq !== undefined && frame.seq <= recovery.latestSeq) {
        continue
      }
      connection.sendFramed(frame.framed, frame.text)
    }
    members.joining.delete(connection)
    members.live.add(connection)

    if (first) this.publishPresence(room, 'join', connection.user)
  }

  async leave (connection: Connection, frame: LeaveFrame): Promise<void> {
    const { room, ref } = frame
    if (!connection.rooms.has(room)) return this.reply(connection, 'not_member', `not a member of room ${room}`, ref)
    const announced = this.detach(connection, room)
    connection.send(ref === undefined ? { type: 'left', room } : { type: 'left', room, ref })
    await this.leftRoom(connection, room, announced)
  }

  message (connection: Connection, frame: MessageFrame): void {
    const { room, text, clientId, ref } = frame
    if (!connection.rooms.has(room)) return this.reply(connection, 'not_member', `join room ${room} before sending to it`, ref)
    this.store.append(room, connection.user, text, clientId, true).then(({ message, duplicate, senderRead = false }) => {
      // The sender's copy of its message and its ack leave in one write.
      connection.corked(() => {
        if (!duplicate) {
          this.published(message)
          for (const listener of this.listeners.sent) listener(connection, message, senderRead)
        }
        if (connection.closed) return
        const ack: AckFrame = { type: 'ack', room, seq: message.seq, id: message.id }
        if (ref !== undefined) ack.ref = ref
        if (duplicate) ack.duplicate = true
        connection.send(ack)
      })
    }, (err: unknown) => {
      if (err instanceof NotFoundError) return this.reply(connection, 'not_found', `room ${room} no longer exists`, ref)
      this.stats.storageErrors++
      connection.log.error({ err, room }, 'storing a message failed')
      this.reply(connection, 'internal', 'the message was not stored', ref)
    })
  }

  async history (connection: Connection, frame: HistoryFrame): Promise<void> {
    const { room, before, limit = LIMIT_DEFAULT, ref } = frame
    const refused = await this.refusal(connection, room)
    if (refused !== undefined) return this.reply(connection, refused.code, refused.message, ref)
    const messages = await this.store.history(room, limit, before)
    connection.send(ref === undefined ? { type: 'history', room, messages } : { type: 'history', room, messages, ref })
  }

  /** Every exit path of a connection ends here; it runs once. */
  async disconnect (connection: Connection): Promise<void> {
    if (connection.closed) return
    connection.closed = true
    this.registry.remove(connection)
    // The connection keeps its list of rooms, for the line logged when its socket closes.
    const rooms = [...connection.rooms].map((room) => ({ room, announced: this.detach(connection, room, false) }))
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

  // ---- operations over REST ---------------------------------------------------------

  /** Stores and publishes a message posted over REST; undefined when the room does not exist. */
  async postMessage (room: string, user: string, text: string, clientId?: string): Promise<Appended | undefined> {
    try {
      const appended = await this.store.append(room, user, text, clientId)
      if (!appended.duplicate) this.published(appended.message)
      return appended
    } catch (err) {
      if (err instanceof NotFoundError) return undefined
      throw err
    }
  }

  async deleteRoom (room: string): Promise<boolean> {
    const deleted = await this.store.deleteRoom(room)
    if (deleted) {
      await this.engine.broker.presenceClear(room)
      this.engine.broker.publish({ kind: 'room_deleted', room })
    }
    return deleted
  }

  async revokeGrant (room: string, user: string): Promise<void> {
    await this.store.deleteGrant(room, user)
    this.engine.broker.publish({ kind: 'kick', room, user, reason: 'access revoked' })
  }

  /** Rooms with members on this node, and the memberships (connection in a room) they hold. */
  membership (): { rooms: number, memberships: number } {
    let memberships = 0
    for (const members of this.rooms.values()) memberships += members.live.size + members.joining.size
    return { rooms: this.rooms.size, memberships }
  }

  online (room: string): Promise<OnlineUser[]> {
    return this.engine.broker.online(room)
  }

  /** Room object for REST: the stored record plus its online user count. */
  async describe (record: RoomRecord, defaultHistoryLimit: number) {
    const online = await this.engine.broker.online(record.id)
    return roomObject(record, defaultHistoryLimit, online.length)
  }

  /**
   * Shutdown: sends every client a close frame with 1001 so it reconnects elsewhere, waits
   * up to `graceMs` for the closing handshakes, then cuts whatever is left.
   */
  async closeAll (graceMs: number): Promise<void> {
    for (const connection of this.registry) connection.close(CloseCode.goingAway, 'server shutting down')
    const deadline = Date.now() + graceMs
    while (this.registry.size > 0 && Date.now() < deadline) await sleep(20)
    for (const connection of this.registry) {
      connection.socket.terminate()
      await this.disconnect(connection)
    }
  }

  // ---- internals ---------------------------------------------------------------------

  private published (message: Message): void {
    this.stats.messagesStored++
    this.engine.broker.publish({ kind: 'message', message })
  }

  private onEvent (event: RoomEvent): void {
    switch (event.kind) {
      case 'message': {
        const { message } = event
        const members = this.rooms.get(message.room)
        if (members === undefined) break
        if (message.seq > members.seq) members.seq = message.seq
        // The message frame is the message with its type first: no copy of the object to make it,
        // and no stringify when the event came with the message's JSON.
        this.deliver(members, '{"type":"message",' + (event.json ?? JSON.stringify(message)).slice(1), message.seq, undefined, undefined)
        break
      }
      case 'presence':
        this.broadcast(event.room, {
          type: 'presence', room: event.room, event: event.event, user: event.user, time: event.time
        }, undefined, event.user)
        break
      case 'kick':
        this.kick(event.room, event.user, event.reason)
        break
      case 'room_deleted':
        this.roomDeleted(event.room)
        break
      case 'updated':
        this.broadcast(event.message.room, { type: 'updated', room: event.message.room, message: event.message })
        break
      case 'typing':
        this.broadcast(event.room, { type: 'typing', room: event.room, users: event.users })
        break
      case 'read':
        this.broadcast(event.room, { type: 'read', room: event.room, user: event.user, seq: event.seq })
        break
    }
    for (const listener of this.listeners.event) listener(event)
  }

  private kick (room: string, user: string, reason: string): void {
    const members = this.rooms.get(room)
    if (members === undefined) return
    const kicked = [...members.live, ...members.joining.keys()]
      .filter((connection) => connection.user === user)
      .map((connection) => ({ connection, announced: this.detach(connection, room) }))
    for (const { connection } of kicked) connection.send({ type: 'kicked', room, reason })
    for (const { connection, announced } of kicked) {
      this.leftRoom(connection, room, announced)
        .catch((err: unknown) => this.presenceFailed(err, room))
    }
  }

  private roomDeleted (room: string): void {
    const members = this.rooms.get(room)
    this.counted.delete(room)
    if (members === undefined) return
    this.rooms.delete(room)
    const text = JSON.stringify({ type: 'room_deleted', room })
    for (const connection of [...members.live, ...members.joining.keys()]) {
      connection.rooms.delete(room)
      connection.sendText(text)
    }
    members.joining.clear()
  }

  private async roomForJoin (room: string): Promise<RoomRecord | undefined> {
    const record = await this.store.getRoom(room)
    if (record !== undefined || !this.options.autoCreateRooms) return record
    return (await this.store.createRoom({ id: room })) ?? await this.store.getRoom(room)
  }

  private countIn (room: string, connection: Connection): void {
    let counted = this.counted.get(room)
    if (counted === undefined) this.counted.set(room, counted = new Set())
    counted.add(connection)
  }

  private membersOf (room: string): RoomMembers {
    let members = this.rooms.get(room)
    if (members === undefined) this.rooms.set(room, members = { live: new Set(), joining: new Map(), seq: 0 })
    return members
  }

  /**
   * Removes the connection from the room on this node, synchronously. Returns whether the
   * others had been told of its join, so that a leave is announced only after a join was.
   */
  private detach (connection: Connection, room: string, forget = true): boolean {
    if (forget) connection.rooms.delete(room)
    const members = this.rooms.get(room)
    if (members === undefined) return false
    const joining = members.joining.get(connection)
    const announced = members.live.delete(connection) || joining?.rejoin === true
    members.joining.delete(connection)
    if (members.live.size === 0 && members.joining.size === 0) this.rooms.delete(room)
    return announced
  }

  /** After a detach: uncounts presence and tells the others when the user's last connection left. */
  private async leftRoom (connection: Connection, room: string, announce: boolean): Promise<void> {
    const counted = this.counted.get(room)
    if (counted === undefined || !counted.delete(connection)) return
    if (counted.size === 0) this.counted.delete(room)
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

  /** Answers a frame with an error. */
  reply (connection: Connection, code: ErrorCode, message: string, ref: string | undefined): void {
    connection.send(ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref })
  }
}
