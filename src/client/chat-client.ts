import type {
  AckFrame, ClientFrame, DmFrame, RoomsOutFrame, ErrorFrame, HistoryFrame, HistoryOutFrame, JoinedFrame, JoinFrame, LeftFrame, Message, MessageFrame,
  MessageOutFrame, ReactFrame, ReadOutFrame, ReadsOutFrame, RoomUnread, SearchOutFrame, ServerFrame, UnreadOutFrame, UpdatedFrame, WelcomeFrame
} from './protocol.ts'
import { reconnectDelay } from './backoff.ts'
import { Emitter } from './emitter.ts'
import { ChatError } from './errors.ts'
import { fetchPushKey, httpBase, type PushSubscriptionInput, subscriptionData } from './push.ts'
import { randomId } from './random-id.ts'
import type {
  ChatClientOptions, ChatEvents, ConnectionState, HistoryOptions, MessageAck, NotifyLevel, RoomAck, SendOptions, TokenSource,
  WebSocketConstructor, WebSocketLike
} from './types.ts'

type Timer = ReturnType<typeof setTimeout>

interface Deferred<T> {
  resolve: (value: T) => void
  reject: (err: ChatError) => void
}

/** A request waiting for its reply: the frame as sent (with its `ref`) and who waits. */
interface Pending {
  frame: ClientFrame & { ref: string }
  expect: ServerFrame['type']
  waiters: Deferred<ServerFrame>[]
}

/** What the client keeps for a room it is in (or joining). */
interface RoomState {
  /** The highest seq delivered to `message` listeners; undefined until the first `joined`. */
  lastSeq: number | undefined
  /** A `joined` has been received for this room at least once. */
  joined: boolean
  /** The ref of the join request in flight or queued for this room. */
  joinRef: string | undefined
  /** The server could not replay everything after `since`: accept the next seq, whatever it is. */
  acceptGap: boolean
  /** A re-join that failed for a passing reason (internal, rate_limited) is tried again. */
  retryTimer: Timer | undefined
  /** The user's read seq in the room as far as the client knows: it never sends a lower one. */
  readSeq: number
  /** A read seq asked for and not sent yet: held by the coalescing or until the room is joined. */
  readWanted: number | undefined
  /** Who waits for `readWanted` to be sent. */
  readWaiters: Deferred<void>[]
  readTimer: Timer | undefined
  /** When the last `read` frame of the room went out. */
  readSentAt: number
  /** When the last `typing` frame went out; undefined while the server knows the user as not typing. */
  typingSentAt: number | undefined
}

const OPEN = 1
const PING_REF = 'ping'
const REJOIN_RETRY_MS = 1000
/** The contract asks typers to repeat their frame every 2 to 3 s; the server forgets them after 5 s. */
const TYPING_REPEAT_MS = 2500
const TYPING_TTL_MS = 5000
/** At most one `read` frame per room this often: a busy room does not become a frame per message. */
const READ_INTERVAL_MS = 500
/** Replies whose ref matches no request are stale (from before a reconnect) and dropped. */
const REPLY_TYPES = new Set<ServerFrame['type']>(['ack', 'left', 'history', 'pong', 'refreshed', 'joined', 'unread', 'reads', 'dm', 'rooms', 'search'])

const DEFAULTS = {
  minReconnectDelayMs: 500,
  maxReconnectDelayMs: 20_000,
  pingIntervalMs: 5000,
  pongTimeoutMs: 4000,
  connectTimeoutMs: 10_000
}

/**
 * A chat connection that survives network failures and server restarts. It reconnects with
 * backoff and jitter, re-joins its rooms with `since` = the last seq it delivered, resends
 * every unacknowledged message with its original `clientId` (so the server stores it once),
 * and delivers each room's messages exactly once and in seq order. A link that stops
 * answering without closing is noticed by an application `ping`: browsers cannot see
 * WebSocket pings.
 *
 * Modelled on centrifuge-js (explicit states, recovery by offset) and socket.io-client's
 * Manager (reconnection delays). See docs/client.md.
 */
export class ChatClient extends Emitter<ChatEvents> {
  private readonly url: string
  private readonly token: TokenSource | undefined
  private readonly WebSocketClass: WebSocketConstructor
  private readonly settings: typeof DEFAULTS
  private currentState: ConnectionState = 'closed'
  /** Dev mode without a token: the user id to reconnect as (the server's guest id once welcomed). */
  private userId: string | undefined
  private welcomeFrame: WelcomeFrame | undefined
  private socket: WebSocketLike | undefined
  /** Bumped whenever a socket is given up, so its late callbacks are ignored. */
  private generation = 0
  private attempt = 0
  private refCounter = 0
  private lastFrameAt = 0
  private reconnectTimer: Timer | undefined
  private connectTimer: Timer | undefined
  private pingTimer: Timer | undefined
  private pongTimer: Timer | undefined
  private readonly rooms = new Map<string, RoomState>()
  /** Requests by ref, in the order they were made: the order they are resent in. */
  private readonly pending = new Map<string, Pending>()
  private connectWaiters: Deferred<WelcomeFrame>[] = []

  constructor (options: ChatClientOptions) {
    super()
    const url = new URL(options.url)
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new TypeError(`url must be a ws:// or wss:// URL, not ${options.url}`)
    const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
    if (WebSocketClass === undefined) {
      throw new TypeError('no global WebSocket: pass one, such as the WebSocket class of the ws package (new ChatClient({ url, WebSocket }))')
    }
    this.url = options.url
    this.token = options.token
    this.userId = options.user
    this.WebSocketClass = WebSocketClass
    this.settings = {
      minReconnectDelayMs: options.minReconnectDelayMs ?? DEFAULTS.minReconnectDelayMs,
      maxReconnectDelayMs: options.maxReconnectDelayMs ?? DEFAULTS.maxReconnectDelayMs,
      pingIntervalMs: options.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
      pongTimeoutMs: options.pongTimeoutMs ?? DEFAULTS.pongTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs
    }
  }

  get state (): ConnectionState {
    return this.currentState
  }

  /** The user id the server knows this client as, once welcomed. */
  get user (): string | undefined {
    return this.welcomeFrame?.user ?? this.userId
  }

  /** The rooms the client is in or joining; they are re-joined after every reconnect. */
  get joinedRooms (): string[] {
    return [...this.rooms.keys()]
  }

  /** Opens the connection; resolves with the `welcome` frame once it is open, retrying until then. */
  connect (): Promise<WelcomeFrame> {
    if (this.currentState === 'open' && this.welcomeFrame !== undefined) return Promise.resolve(this.welcomeFrame)
    const welcomed = new Promise<WelcomeFrame>((resolve, reject) => this.connectWaiters.push({ resolve, reject }))
    if (this.currentState === 'closed') {
      this.setState('connecting')
      void this.open()
    }
    return welcomed
  }

  /**
   * Joins a room (or confirms a join) and resolves with the `joined` frame. The room is
   * re-joined after every reconnect until `leave()`, a kick or the room's deletion.
   */
  join (room: string): Promise<JoinedFrame> {
    let state = this.rooms.get(room)
    if (state === undefined) {
      state = {
        lastSeq: undefined,
        joined: false,
        joinRef: undefined,
        acceptGap: false,
        retryTimer: undefined,
        readSeq: 0,
        readWanted: undefined,
        readWaiters: [],
        readTimer: undefined,
        readSentAt: 0,
        typingSentAt: undefined
      }
      this.rooms.set(room, state)
    }
    return new Promise<ServerFrame>((resolve, reject) => {
      this.requestJoin(room, state, { resolve, reject })
    }) as Promise<JoinedFrame>
  }

  /** Leaves a room; it is not re-joined any more. */
  leave (room: string): Promise<LeftFrame> {
    const known = this.rooms.has(room)
    this.forgetRoom(room, new ChatError(`cancelled: room ${room} was left`, 'cancelled', room))
    if (this.currentState !== 'open') {
      // Off line there is no membership to end: the room is simply not joined again.
      return known
        ? Promise.resolve({ type: 'left', room })
        : Promise.reject(new ChatError(`not a member of room ${room}`, 'not_member', room))
    }
    return this.request<LeftFrame>({ type: 'leave', room }, 'left')
  }

  /**
   * Sends a message and resolves with its `ack` once it is stored. While disconnected it
   * waits for the connection; a message not acknowledged when a connection is lost is sent
   * again with the same `clientId`, and the server stores it once. With `replyTo` it is a
   * reply in that message's thread (see `reply`).
   */
  send (room: string, text: string, options: SendOptions = {}): Promise<MessageAck> {
    const frame: MessageFrame = { type: 'message', room, text, clientId: options.clientId ?? randomId() }
    if (options.replyTo !== undefined) frame.replyTo = options.replyTo
    // The server ends the sender's typing when it stores the message.
    const state = this.rooms.get(room)
    if (state !== undefined) state.typingSentAt = undefined
    return this.request<MessageAck>(frame, 'ack')
  }

  /**
   * Sends a reply in the thread of message `replyTo` (a reply to a reply goes to its root) and
   * resolves with its `ack`: `send` with the `replyTo` option, so it waits and is resent the
   * same way and is stored once. The reply comes to `message` listeners with `replyTo` set to
   * the root's seq, and the root's new `thread` summary to `updated` listeners. Rejects with
   * `not_found` when `replyTo` is not retained or was deleted.
   */
  reply (room: string, replyTo: number, text: string, options: Omit<SendOptions, 'replyTo'> = {}): Promise<MessageAck> {
    return this.send(room, text, { ...options, replyTo })
  }

  /**
   * Adds the user's reaction `emoji` to a message, or with `active` false removes it, and
   * resolves with the `ack` (the message's seq and id). Repeating one, or removing one that is
   * not there, changes nothing and is acknowledged alike, so one cut off by a lost connection
   * is simply sent again. Members get the message's new `reactions` as `updated` (changes of
   * one message within a second may come as one). Rejects with `not_member`, `not_found` (a
   * seq not retained or deleted) or `bad_request` (an emoji with whitespace or too long).
   */
  react (room: string, seq: number, emoji: string, active = true): Promise<MessageAck> {
    const frame: ReactFrame = { type: 'react', room, seq, emoji }
    if (!active) frame.active = false
    return this.request<MessageAck>(frame, 'ack')
  }

  /**
   * Replaces the text of one of the user's messages and resolves with the `ack` (the message's
   * own seq and id); every member then gets an `updated` event. Rejects with `forbidden` for
   * someone else's message, `not_found` for a seq not retained or deleted. While disconnected it
   * waits for the connection, and one cut off before its `ack` is sent again (an edit applied
   * twice leaves the same text).
   */
  edit (room: string, seq: number, text: string): Promise<MessageAck> {
    return this.request<MessageAck>({ type: 'edit', room, seq, text }, 'ack')
  }

  /**
   * Deletes one of the user's messages (it stays as a tombstone with its seq) and resolves
   * with the `ack`. Rejects with `forbidden` or `not_found` as `edit` does. Waits for the
   * connection and is resent like `edit`: a repeated delete is answered as the first was.
   */
  delete (room: string, seq: number): Promise<MessageAck> {
    return this.request<MessageAck>({ type: 'delete', room, seq }, 'ack')
  }

  /**
   * Moderation, for an owner or a moderator of the room (joined or not): removes the user's
   * connections from the room (they get `kicked` and may join again). Resolves with the `ack`
   * (no seq); rejects with `forbidden` without the role or on an owner as a moderator.
   */
  kick (room: string, user: string, reason?: string): Promise<RoomAck> {
    return this.request<RoomAck>(reason === undefined ? { type: 'kick', room, user } : { type: 'kick', room, user, reason }, 'ack')
  }

  /** Bans the user from the room for `durationMs` (absent: until lifted): kicked, and its joins refused. As `kick`. */
  ban (room: string, user: string, options: { durationMs?: number, reason?: string } = {}): Promise<RoomAck> {
    return this.request<RoomAck>({ type: 'ban', room, user, ...options }, 'ack')
  }

  /** Lifts a ban. As `kick`. */
  unban (room: string, user: string): Promise<RoomAck> {
    return this.request<RoomAck>({ type: 'unban', room, user }, 'ack')
  }

  /** Mutes the user in the room for `durationMs` (absent: until lifted): its messages, reactions and typing are refused. As `kick`. */
  mute (room: string, user: string, options: { durationMs?: number, reason?: string } = {}): Promise<RoomAck> {
    return this.request<RoomAck>({ type: 'mute', room, user, ...options }, 'ack')
  }

  /** Lifts a mute. As `kick`. */
  unmute (room: string, user: string): Promise<RoomAck> {
    return this.request<RoomAck>({ type: 'unmute', room, user }, 'ack')
  }

  /**
   * Sets the room's slow mode (an owner's or a moderator's power): members who are not
   * moderators may send one message every `intervalMs`; `0` turns it off. A message sent too
   * soon rejects with `rate_limited` and the error's `retryAfterMs`. As `kick`.
   */
  slowMode (room: string, intervalMs: number): Promise<RoomAck> {
    return this.request<RoomAck>({ type: 'slow_mode', room, intervalMs }, 'ack')
  }

  /**
   * Reports a message of a room the client joined to the operators' queue, with an optional
   * reason; resolves with the `ack` (the message's seq and id). Rejects with `not_member` or
   * `not_found` (a message not retained or deleted).
   */
  report (room: string, seq: number, reason?: string): Promise<MessageAck> {
    return this.request<MessageAck>(reason === undefined ? { type: 'report', room, seq } : { type: 'report', room, seq, reason }, 'ack')
  }

  /**
   * Registers a browser's Web Push subscription (the `PushSubscription` that
   * `pushManager.subscribe` gives, or its `toJSON()`) for the user, and resolves with the `ack`.
   * The service then pushes to it when someone writes in a room the user is away from (see
   * `notify`). Registering an endpoint again is harmless; an endpoint belongs to the last user
   * who registered it. Rejects with `bad_request` for an endpoint that is not `https` or names
   * a private host, or malformed keys.
   */
  subscribePush (subscription: PushSubscriptionInput): Promise<AckFrame> {
    try {
      return this.request<AckFrame>({ type: 'push_subscribe', subscription: subscriptionData(subscription) }, 'ack')
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Removes one of the user's push subscriptions by its endpoint (after `PushSubscription.unsubscribe()`); resolves with the `ack`. */
  unsubscribePush (endpoint: string): Promise<AckFrame> {
    return this.request<AckFrame>({ type: 'push_unsubscribe', endpoint }, 'ack')
  }

  /**
   * Sets what the user is notified of in a room, on every device: `all` messages (the
   * default), only those that `mentions` it, or `none`. Resolves with the `ack` (with the room).
   * Rejects like `join` would for a room the user may not join, `not_found` for no such room.
   */
  notify (room: string, level: NotifyLevel = 'all'): Promise<RoomAck> {
    return this.request<RoomAck>({ type: 'notify', room, level }, 'ack')
  }

  /**
   * The service's VAPID public key, the `applicationServerKey` of `pushManager.subscribe`;
   * undefined when it has no Web Push. Asked over HTTP beside the WebSocket URL
   * (`ws://host/chat/ws` → `http://host/chat/push/key`); `fetchPushKey(baseUrl)` asks elsewhere.
   */
  pushKey (): Promise<string | undefined> {
    return fetchPushKey(httpBase(this.url))
  }

  /**
   * Opens (or finds) the direct-message room of the user and `users` (1 to 9 others): a private
   * room granted to exactly them, the same whoever asks. Resolves with `{room, users}`; join the
   * room to talk there.
   */
  async openDm (users: string[]): Promise<{ room: string, users: string[] }> {
    const answer = await this.request<DmFrame>({ type: 'open_dm', users } as ClientFrame, 'dm')
    return { room: answer.room, users: answer.users }
  }

  /** The user's rooms (a read seq, a grant or a DM), newest message first, with unread and mention counts. */
  async roomsList (): Promise<RoomsOutFrame['rooms']> {
    return (await this.request<RoomsOutFrame>({ type: 'rooms' }, 'rooms')).rooms
  }

  /**
   * Finds messages whose current text has every word of `query` (each word matching the start of
   * a word of the text, case-insensitive), newest first, at most `limit` (1 to 100, default 20):
   * in `room` (joined), or in every room the user has read and may read. Rejects with
   * `bad_request` for a query without a word, `not_member` for a room not joined.
   */
  async search (query: string, options: { room?: string, limit?: number } = {}): Promise<Message[]> {
    return (await this.request<SearchOutFrame>({ type: 'search', query, ...options }, 'search')).messages
  }

  /**
   * Says the user is typing in a room (or, with `active` false, has stopped). Call it on every
   * keystroke: a frame goes out at most every 2.5 s, which keeps the user typing on the server
   * (it forgets a typer 5 s after its last frame); a stop goes out only when a typing frame is
   * still in force. Sending a message stops typing by itself. There is no reply: the promise
   * resolves once the frame is sent, or at once when none is needed. Typing is never queued:
   * while disconnected nothing is sent (the server forgot it with the connection). Rejects with
   * `not_member` for a room the client is not in.
   */
  typing (room: string, active = true): Promise<void> {
    const state = this.rooms.get(room)
    if (state === undefined) return Promise.reject(new ChatError(`join room ${room} before typing in it`, 'not_member', room))
    if (this.currentState !== 'open') {
      state.typingSentAt = undefined
      return Promise.resolve()
    }
    const now = Date.now()
    const sentAt = state.typingSentAt
    if (active && (sentAt === undefined || now - sentAt >= TYPING_REPEAT_MS)) {
      state.typingSentAt = now
      this.transmit({ type: 'typing', room })
    } else if (!active && sentAt !== undefined) {
      state.typingSentAt = undefined
      if (now - sentAt < TYPING_TTL_MS) this.transmit({ type: 'typing', room, active: false })
    }
    return Promise.resolve()
  }

  /**
   * Marks a room read up to `seq` (read seqs only move forward). Call it whenever the user has
   * seen more: a seq at or below the known read seq sends nothing, and frames are coalesced to
   * one per room every 500 ms carrying the latest seq. The server announces a move with a
   * `read` event to every member, this client included; there is no other reply. Resolves once
   * a frame carrying `seq` (or a later one) is sent; while disconnected it waits and is sent
   * after the room is joined again. Rejects with `not_member` for a room the client is not in,
   * `bad_request` for a seq that is not an integer ≥ 0 or is past the last message received.
   */
  read (room: string, seq: number): Promise<void> {
    const state = this.rooms.get(room)
    if (state === undefined) return Promise.reject(new ChatError(`join room ${room} before marking it read`, 'not_member', room))
    if (!Number.isSafeInteger(seq) || seq < 0) {
      return Promise.reject(new ChatError(`read: seq must be an integer >= 0, not ${seq}`, 'bad_request', room))
    }
    // Past what was received there is nothing to have read (and the server may refuse it).
    if (state.lastSeq !== undefined && seq > state.lastSeq) {
      return Promise.reject(new ChatError(`read: seq ${seq} is past the last message received in ${room} (${state.lastSeq})`, 'bad_request', room))
    }
    if (seq <= state.readSeq) return Promise.resolve()
    state.readWanted = Math.max(state.readWanted ?? 0, seq)
    return new Promise<void>((resolve, reject) => {
      state.readWaiters.push({ resolve, reject })
      this.scheduleRead(room, state)
    })
  }

  /**
   * The user's unread counts: `{room, seq, readSeq, unread, mentions}` for every room where it
   * has a read seq; `mentions` counts the messages after `readSeq` that mention the user.
   */
  async unread (): Promise<RoomUnread[]> {
    const reply = await this.request<UnreadOutFrame>({ type: 'unread' }, 'unread')
    for (const { room, readSeq } of reply.rooms) {
      const state = this.rooms.get(room)
      if (state !== undefined) state.readSeq = Math.max(state.readSeq, readSeq)
    }
    return reply.rooms
  }

  /** Who has read a room how far ("seen by"): `{user, seq}` by user id. Members only. */
  async reads (room: string): Promise<ReadsOutFrame['reads']> {
    const reply = await this.request<ReadsOutFrame>({ type: 'reads', room }, 'reads')
    return reply.reads
  }

  /** Older messages of a room, ascending: the newest `limit` ones, or those below `before`. */
  history (room: string, options: HistoryOptions = {}): Promise<Message[]> {
    return this.page({ type: 'history', room }, options)
  }

  /**
   * The replies in the thread of root `root` (not the root itself), ascending and paged as
   * `history` is: the newest `limit`, or those below `before`. Rejects with `not_found` when the
   * root is not retained or was deleted.
   */
  thread (room: string, root: number, options: HistoryOptions = {}): Promise<Message[]> {
    return this.page({ type: 'history', room, thread: root }, options)
  }

  /**
   * Closes the connection and stops every timer. Requests still waiting, unacknowledged
   * sends included, are rejected with the code `closed`; rooms are forgotten. The client
   * may connect again afterwards.
   */
  close (): void {
    this.generation++
    this.stopTimers()
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    const socket = this.socket
    this.socket = undefined
    if (socket !== undefined) {
      detach(socket)
      socket.close(1000, 'client closed')
    }
    const closed = () => new ChatError('the client was closed', 'closed')
    for (const room of [...this.rooms.keys()]) this.forgetRoom(room, closed())
    const requests = [...this.pending.values()]
    this.pending.clear()
    for (const request of requests) for (const waiter of request.waiters) waiter.reject(closed())
    const waiters = this.connectWaiters
    this.connectWaiters = []
    for (const waiter of waiters) waiter.reject(closed())
    this.welcomeFrame = undefined
    this.attempt = 0
    this.setState('closed')
  }

  // ---- connection --------------------------------------------------------------------

  private async open (): Promise<void> {
    const generation = ++this.generation
    let url: string
    try {
      url = await this.socketUrl()
    } catch (err) {
      if (generation !== this.generation) return
      this.emit('error', new ChatError(`could not get a token: ${err instanceof Error ? err.message : String(err)}`, 'unauthorized'))
      this.lost(generation, 1006, 'no token')
      return
    }
    if (generation !== this.generation) return
    const socket = new this.WebSocketClass(url)
    this.socket = socket
    this.connectTimer = setTimeout(() => this.lost(generation, 1006, 'connect timeout'), this.settings.connectTimeoutMs)
    socket.onmessage = (event) => {
      if (generation === this.generation && typeof event.data === 'string') this.receive(event.data, generation)
    }
    socket.onclose = (event) => this.lost(generation, event.code, event.reason)
    // A close event always follows an error.
    socket.onerror = () => {}
  }

  private async socketUrl (): Promise<string> {
    const url = new URL(this.url)
    const token = typeof this.token === 'function' ? await this.token() : this.token
    if (token !== undefined) url.searchParams.set('token', token)
    else if (this.userId !== undefined) url.searchParams.set('user', this.userId)
    return url.toString()
  }

  /** The socket of `generation` is gone (closed, failed, timed out or dead): reconnect. */
  private lost (generation: number, code: number, reason: string): void {
    if (generation !== this.generation) return
    this.generation++
    this.stopTimers()
    const socket = this.socket
    this.socket = undefined
    if (socket !== undefined) {
      detach(socket)
      if (socket.terminate !== undefined) socket.terminate()
      else socket.close()
    }
    const wasOpen = this.currentState === 'open'
    this.welcomeFrame = undefined
    // A leave cut off by the connection is done: the server ended the membership with the connection.
    for (const [ref, request] of this.pending) {
      if (request.frame.type !== 'leave') continue
      this.pending.delete(ref)
      for (const waiter of request.waiters) waiter.resolve({ type: 'left', room: request.frame.room })
    }
    if (wasOpen) this.setState('reconnecting')
    this.emit('disconnect', { code, reason, wasOpen })
    if (this.currentState === 'closed') return
    const delay = reconnectDelay(this.attempt++, this.settings.minReconnectDelayMs, this.settings.maxReconnectDelayMs)
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      void this.open()
    }, delay)
  }

  private stopTimers (): void {
    clearTimeout(this.connectTimer)
    clearTimeout(this.pingTimer)
    clearTimeout(this.pongTimer)
    this.connectTimer = this.pingTimer = this.pongTimer = undefined
    for (const state of this.rooms.values()) {
      clearTimeout(state.retryTimer)
      clearTimeout(state.readTimer)
      state.retryTimer = state.readTimer = undefined
      // The server ends typing with the connection.
      state.typingSentAt = undefined
    }
  }

  private onWelcome (frame: WelcomeFrame, generation: number): void {
    clearTimeout(this.connectTimer)
    this.connectTimer = undefined
    this.welcomeFrame = frame
    // A guest keeps its id across reconnects, so its resent messages are recognised as repeats.
    if (this.token === undefined) this.userId = frame.user
    this.attempt = 0
    this.schedulePing(generation)
    // Re-join first, then resend: the server handles a connection's frames in order, so the
    // messages find their rooms joined. All of it before any listener runs and sends more.
    for (const [room, state] of this.rooms) this.requestJoin(room, state, undefined, true)
    for (const request of this.pending.values()) {
      if (request.frame.type !== 'join') this.transmit(request.frame)
    }
    this.setState('open')
    this.emit('welcome', frame)
    const waiters = this.connectWaiters
    this.connectWaiters = []
    for (const waiter of waiters) waiter.resolve(frame)
  }

  /**
   * Pings after `pingIntervalMs` without a frame from the server; any frame within
   * `pongTimeoutMs` proves the link alive, else it is dropped and replaced.
   */
  private schedulePing (generation: number): void {
    const { pingIntervalMs, pongTimeoutMs } = this.settings
    const idle = Date.now() - this.lastFrameAt
    if (idle < pingIntervalMs) {
      this.pingTimer = setTimeout(() => this.schedulePing(generation), pingIntervalMs - idle)
      return
    }
    if (this.pongTimer === undefined) {
      this.transmit({ type: 'ping', ref: PING_REF })
      this.pongTimer = setTimeout(() => this.lost(generation, 1006, `no answer to ping within ${pongTimeoutMs} ms`), pongTimeoutMs)
    }
    this.pingTimer = setTimeout(() => this.schedulePing(generation), pingIntervalMs)
  }

  private setState (state: ConnectionState): void {
    if (this.currentState === state) return
    this.currentState = state
    this.emit('state', state)
  }

  private transmit (frame: ClientFrame): void {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(frame))
  }

  // ---- requests ----------------------------------------------------------------------

  private async page (frame: HistoryFrame, options: HistoryOptions): Promise<Message[]> {
    if (options.before !== undefined) frame.before = options.before
    if (options.limit !== undefined) frame.limit = options.limit
    const reply = await this.request<HistoryOutFrame>(frame, 'history')
    return reply.messages
  }

  private nextRef (): string {
    return String(++this.refCounter)
  }

  /** Sends a frame (now, or once connected) and resolves with the reply of type `expect`. */
  private request<T extends ServerFrame> (frame: ClientFrame, expect: T['type']): Promise<T> {
    const ref = this.nextRef()
    const sent = { ...frame, ref }
    return new Promise<ServerFrame>((resolve, reject) => {
      this.pending.set(ref, { frame: sent, expect, waiters: [{ resolve, reject }] })
      if (this.currentState === 'open') this.transmit(sent)
    }) as Promise<T>
  }

  /**
   * Joins with `since` = the last seq delivered. A join already under way for the room is
   * shared rather than repeated, unless `resend` (a new connection) asks for it again.
   */
  private requestJoin (room: string, state: RoomState, waiter?: Deferred<ServerFrame>, resend = false): void {
    let request = state.joinRef === undefined ? undefined : this.pending.get(state.joinRef)
    if (waiter !== undefined) request?.waiters.push(waiter)
    if (request !== undefined && !resend) return
    if (request === undefined) {
      const ref = state.joinRef = this.nextRef()
      request = { frame: { type: 'join', room, ref }, expect: 'joined', waiters: waiter === undefined ? [] : [waiter] }
      this.pending.set(ref, request)
    }
    const frame: JoinFrame & { ref: string } = { type: 'join', room, ref: state.joinRef! }
    if (state.lastSeq !== undefined) frame.since = state.lastSeq
    request.frame = frame
    if (this.welcomeFrame !== undefined) this.transmit(frame)
  }

  private settle (ref: string, request: Pending, reply: ServerFrame): void {
    this.pending.delete(ref)
    if (request.frame.type === 'message' && reply.type === 'ack') {
      // The server moves a sender's read seq to its own message.
      const state = this.rooms.get(request.frame.room)
      if (state !== undefined && reply.seq !== undefined) state.readSeq = Math.max(state.readSeq, reply.seq)
    }
    if (request.frame.type === 'join') {
      this.settleJoin(request.frame.room, ref, reply)
    }
    if (reply.type === 'error') {
      const room = 'room' in request.frame ? request.frame.room : undefined
      for (const waiter of request.waiters) waiter.reject(ChatError.fromFrame(reply, room))
    } else if (reply.type !== request.expect) {
      for (const waiter of request.waiters) waiter.reject(new ChatError(`expected ${request.expect}, got ${reply.type}`, 'internal'))
    } else {
      for (const waiter of request.waiters) waiter.resolve(reply)
    }
    if (request.waiters.length === 0 && reply.type === 'error') {
      const room = 'room' in request.frame ? request.frame.room : undefined
      this.emit('error', ChatError.fromFrame(reply, room))
    }
  }

  private settleJoin (room: string, ref: string, reply: ServerFrame): void {
    const state = this.rooms.get(room)
    if (state === undefined || state.joinRef !== ref) return
    state.joinRef = undefined
    if (reply.type === 'joined') return this.onJoined(state, reply)
    if (reply.type !== 'error') return
    if (state.joined && (reply.code === 'internal' || reply.code === 'rate_limited')) {
      const generation = this.generation
      state.retryTimer = setTimeout(() => {
        state.retryTimer = undefined
        if (generation === this.generation && this.rooms.get(room) === state) this.requestJoin(room, state)
      }, REJOIN_RETRY_MS)
      return
    }
    // Refused (private, deleted, not found): the client is not in the room, and reads waiting for it fail alike.
    this.forgetRoom(room, ChatError.fromFrame(reply, room))
  }

  private onJoined (state: RoomState, frame: JoinedFrame): void {
    state.joined = true
    // The first join, or a room that started over (deleted and created again, data reset).
    const startedOver = state.lastSeq !== undefined && frame.seq < state.lastSeq
    if (state.lastSeq === undefined || startedOver) state.lastSeq = frame.seq
    // History no longer reaches back to since + 1: the replay starts later.
    state.acceptGap = frame.recovered === false && frame.seq > state.lastSeq
    if (startedOver) state.readSeq = frame.readSeq ?? 0
    else if (frame.readSeq !== undefined) state.readSeq = Math.max(state.readSeq, frame.readSeq)
    // A read asked for during the first join, or before the room started over, stops at its end.
    if (state.readWanted !== undefined) state.readWanted = Math.min(state.readWanted, state.lastSeq)
    // Reads asked for while joining or disconnected go out now that the room is joined.
    this.scheduleRead(frame.room, state)
    this.emit('joined', frame)
  }

  /** Sends the room's wanted read seq now, or when the interval since the last one has passed. */
  private scheduleRead (room: string, state: RoomState): void {
    if (state.readWanted === undefined || state.readTimer !== undefined) return
    // Not connected, or (re-)joining: onJoined comes back here.
    if (this.currentState !== 'open' || state.joinRef !== undefined) return
    const wait = state.readSentAt + READ_INTERVAL_MS - Date.now()
    if (wait > 0) {
      state.readTimer = setTimeout(() => {
        state.readTimer = undefined
        this.scheduleRead(room, state)
      }, wait)
      return
    }
    const seq = state.readWanted
    state.readWanted = undefined
    const waiters = state.readWaiters
    state.readWaiters = []
    if (seq > state.readSeq) {
      this.transmit({ type: 'read', room, seq })
      state.readSeq = seq
      state.readSentAt = Date.now()
    }
    for (const waiter of waiters) waiter.resolve()
  }

  /** A `read` broadcast: the user's own moves (from any of its clients) raise the known read seq. */
  private onRead (frame: ReadOutFrame): void {
    const state = this.rooms.get(frame.room)
    if (state !== undefined && frame.user === this.user) state.readSeq = Math.max(state.readSeq, frame.seq)
  }

  /** Drops a room and rejects its pending join and reads with `error`. */
  private forgetRoom (room: string, error: ChatError): void {
    const state = this.rooms.get(room)
    if (state === undefined) return
    this.rooms.delete(room)
    clearTimeout(state.retryTimer)
    clearTimeout(state.readTimer)
    for (const waiter of state.readWaiters) waiter.reject(error)
    const request = state.joinRef === undefined ? undefined : this.pending.get(state.joinRef)
    if (request !== undefined) {
      this.pending.delete(state.joinRef!)
      for (const waiter of request.waiters) waiter.reject(error)
    }
  }

  // ---- frames ------------------------------------------------------------------------

  private receive (data: string, generation: number): void {
    let frame: ServerFrame
    try {
      frame = JSON.parse(data) as ServerFrame
    } catch {
      return
    }
    this.lastFrameAt = Date.now()
    clearTimeout(this.pongTimer)
    this.pongTimer = undefined

    switch (frame.type) {
      case 'welcome': return this.onWelcome(frame, generation)
      case 'message': return this.onMessage(frame)
      case 'updated': return this.onUpdated(frame)
      case 'read':
        this.onRead(frame)
        break
      case 'kicked':
        this.forgetRoom(frame.room, new ChatError(`kicked from room ${frame.room}: ${frame.reason}`, 'forbidden', frame.room))
        break
      case 'room_deleted':
        this.forgetRoom(frame.room, new ChatError(`room ${frame.room} was deleted`, 'not_found', frame.room))
        break
    }
    const ref = 'ref' in frame ? frame.ref : undefined
    if (ref === PING_REF) return
    const request = ref === undefined ? undefined : this.pending.get(ref)
    if (request !== undefined) return this.settle(ref!, request, frame)
    if (frame.type === 'error') return this.emit('error', ChatError.fromFrame(frame as ErrorFrame))
    if (REPLY_TYPES.has(frame.type)) return
    this.emitFrame(frame)
  }

  /** Each room's messages once and in seq order; a gap is filled by re-joining with `since`. */
  private onMessage (frame: MessageOutFrame): void {
    const state = this.rooms.get(frame.room)
    if (state?.lastSeq === undefined || frame.seq <= state.lastSeq) return
    if (frame.seq !== state.lastSeq + 1 && !state.acceptGap) {
      // Missed on this connection (the server's own link was cut): the replay brings them in order.
      if (state.joinRef === undefined) this.requestJoin(frame.room, state)
      return
    }
    state.acceptGap = false
    state.lastSeq = frame.seq
    const { type: _type, ...message } = frame
    this.emit('message', message)
  }

  /**
   * A change of a message already delivered: an edit or delete, its reactions, or its thread's
   * summary. One of a message not delivered yet is dropped: that message will come (live or
   * replayed) as it now is.
   */
  private onUpdated (frame: UpdatedFrame): void {
    const state = this.rooms.get(frame.room)
    if (state?.lastSeq === undefined || frame.message.seq > state.lastSeq) return
    this.emit('updated', frame.message)
  }

  /** A broadcast frame, passed on under its own type. */
  private emitFrame (frame: Exclude<ServerFrame, MessageOutFrame | UpdatedFrame>): void {
    // Each frame type is the key of its own event; TypeScript cannot follow the union here.
    (this.emit as (event: string, payload: unknown) => void)(frame.type, frame)
  }
}

function detach (socket: WebSocketLike): void {
  socket.onmessage = null
  socket.onclose = null
  socket.onerror = () => {}
}
