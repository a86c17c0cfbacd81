import { COMMAND_TIMEOUT_MS, type EngineLog } from './connection.ts'
import type { FeedHistory } from './feed-history.ts'
import { type EventKinds, roomOf } from '../events.ts'
import { parseRoomEvent } from './events.ts'
import { roomKeys, type RoomKeys } from './keys.ts'
import type { Subscriber } from './subscriber.ts'
import { NotFoundError, type RoomEvent } from '../types.ts'

export interface RoomFeedsOptions {
  subscriber: Subscriber
  /** Where gaps are read from. */
  history: FeedHistory
  log: EngineLog
  /** Hands an event to this node's listeners. */
  deliver: (event: RoomEvent) => void
  /** The features' event kinds: an event of another kind is dropped. */
  events: EventKinds
  /** How long a room stays subscribed after its last member here left (a rejoin reuses it). */
  lingerMs?: number
}

export interface RoomFeedStats {
  /** History reads that filled a gap. */
  repairs: number
  /** Messages delivered from history rather than from the channel. */
  repaired: number
  /** Rooms whose seq in Redis was found below what this node had delivered, and raised. */
  seqRaises: number
  /** Seqs this node found missing from history though they were never trimmed (lost with a failover). */
  lostSeqs: number
}

/** What a node knows of a room it follows: the last seq it delivered, for the room of that createdAt. */
export interface SeqFloor { seq: number, createdAt: string }

/**
 * A room's events as this node receives them: message events go to the listeners in seq order,
 * exactly once, with no gap a read of history can fill.
 */
export interface RoomFeeds {
  /** A member here needs the room: subscribe (batched) unless subscribed already. */
  want (room: string): void
  /** No member here needs it any more: unsubscribe after a short linger. */
  unwant (room: string): void
  /**
   * Resolves once the room's channel is subscribed and its feed knows where it stands, so every
   * message stored afterwards reaches this node; retries a feed that failed to open. Rejects
   * with NotFoundError when the room does not exist.
   */
  ready (room: string): Promise<void>
  /**
   * Resolves once every message up to `seq` has been handed to the listeners (at once for a
   * room this node does not follow). A message that is slow to come over the channel is read
   * from history; rejects when even that fails within COMMAND_TIMEOUT_MS.
   */
  caughtUp (room: string, seq: number): Promise<void>
  /** Resolves once the room's events published before the call have arrived. */
  barrier (room: string): Promise<void>
  /** The seq this node has delivered in a room it follows (live), which no new message may take again. */
  floor (room: string): SeqFloor | undefined
  /** A message from the room channels' subscription. */
  message (channel: string, text: string): void
  /** Channels subscribed again after a cut: read what was missed. */
  restored (channels: string[]): void
  /** Rooms followed now. */
  rooms (): number
  /** The ids of the rooms followed now. */
  followed (): string[]
  stats: RoomFeedStats
  close (): void
}

type MessageEvent = Extract<RoomEvent, { kind: 'message' }>

interface SeqWaiter { seq: number, since: number, resolve: () => void, reject: (err: Error) => void }

interface Feed {
  room: string
  keys: RoomKeys
  /** opening: subscribing and reading the room's seq; failed: opening failed or the room was deleted. */
  state: 'opening' | 'live' | 'failed'
  opening: Promise<void>
  /** The last seq handed to the listeners; -1 until live. */
  delivered: number
  /** The room's createdAt when the feed opened: a room made again under its id is another room. */
  createdAt: string
  /** Messages that came over the channel ahead of a gap, or while opening or repairing. */
  early: Map<number, MessageEvent>
  /** Other events that came meanwhile, delivered in order once the messages before them are. */
  queued: RoomEvent[]
  /** Events may have been lost (a cut, a gap): the next repair reads edits and deletes too. */
  lost: boolean
  repairing: boolean
  /** Another repair is needed once this one is done. */
  again: boolean
  waiters: SeqWaiter[]
  stall: NodeJS.Timeout | undefined
  idle: NodeJS.Timeout | undefined
}

/** A message not on the channel after this long is read from history. */
const REPAIR_AFTER_MS = 1000
const RETRY_MS = 1000
const LINGER_MS = 2000

function withTimeout<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms) })
  ]).finally(() => clearTimeout(timer))
}

/**
 * Per-room subscriptions with gap repair. A room is subscribed while this node has members in
 * it (and for a short linger after), so a node with no member in a room receives none of its
 * traffic.
 *
 * Where a feed stands: once the channel is subscribed, the room's lastSeq is read; every later
 * message was published after the subscription, so it arrives (or is missing from a cut, and
 * then is found in history). From there the feed tracks the last seq delivered: a message with
 * seq ≤ it is a duplicate and dropped; one with seq > it + 1 reveals a gap, and the messages
 * after the last delivered are read from history (by score) and delivered in order before it.
 * A subscription restored after a cut (the connection dropped, the slot moved) is repaired the
 * same way, and so is a wait for a seq that is slow to arrive. Messages trimmed out of history
 * before they could be read are skipped. Other events of the room (presence, edits, kicks…)
 * that arrive behind a missing message wait for it, so the room's events keep their order;
 * after a cut or a gap the repair also reads the room's record of edits and deletes and
 * resends, as they now are, the delivered messages changed since (a client applies them by
 * seq, so one it already had changes nothing).
 */
export function createRoomFeeds (options: RoomFeedsOptions): RoomFeeds {
  const { history, subscriber, log } = options
  const lingerMs = options.lingerMs ?? LINGER_MS
  const byRoom = new Map<string, Feed>()
  const byChannel = new Map<string, Feed>()
  const stats: RoomFeedStats = { repairs: 0, repaired: 0, seqRaises: 0, lostSeqs: 0 }
  let closed = false

  const current = (feed: Feed) => !closed && byRoom.get(feed.room) === feed

  function open (feed: Feed): void {
    feed.state = 'opening'
    feed.delivered = -1
    feed.opening = (async () => {
      await withTimeout(subscriber.subscribe(feed.keys.channel), COMMAND_TIMEOUT_MS, `subscribing to room ${feed.room}`)
      const position = await history.position(feed.room)
      if (!current(feed)) return
      if (position === undefined) throw new NotFoundError(`room ${feed.room} does not exist`)
      feed.delivered = position.seq
      feed.createdAt = position.createdAt
      feed.state = 'live'
      drain(feed)
      settle(feed)
      flush(feed)
    })()
    feed.opening.catch(() => {
      if (current(feed) && feed.state === 'opening') feed.state = 'failed'
    })
  }

  function emit (feed: Feed, event: MessageEvent): void {
    feed.delivered = event.message.seq
    options.deliver(event)
  }

  /** Delivers what follows the last delivered seq without a gap; a gap left means a repair. */
  function drain (feed: Feed, repairGaps = true): void {
    if (feed.early.size === 0) return
    for (const seq of feed.early.keys()) if (seq <= feed.delivered) feed.early.delete(seq)
    let next = feed.early.get(feed.delivered + 1)
    while (next !== undefined) {
      feed.early.delete(next.message.seq)
      emit(feed, next)
      next = feed.early.get(feed.delivered + 1)
    }
    if (feed.early.size > 0 && repairGaps) repair(feed)
  }

  function take (feed: Feed, event: MessageEvent): void {
    const { seq } = event.message
    if (feed.state !== 'live' || feed.repairing) {
      if (seq > feed.delivered) feed.early.set(seq, event)
      return
    }
    if (seq <= feed.delivered) return
    if (seq === feed.delivered + 1) {
      emit(feed, event)
      drain(feed)
    } else {
      feed.early.set(seq, event)
      feed.lost = true
      repair(feed)
    }
    settle(feed)
    flush(feed)
  }

  /** Delivers the events held back while messages before them were missing, in order. */
  function flush (feed: Feed): void {
    if (feed.queued.length === 0 || feed.state !== 'live' || feed.repairing || feed.early.size > 0 || !current(feed)) return
    const queued = feed.queued
    feed.queued = []
    for (const event of queued) options.deliver(event)
  }

  function repair (feed: Feed): void {
    if (!current(feed) || feed.state !== 'live') return
    if (feed.repairing) {
      feed.again = true
      return
    }
    feed.repairing = true
    void runRepair(feed)
  }

  async function runRepair (feed: Feed): Promise<void> {
    try {
      do {
        feed.again = false
        const since = feed.delivered
        const lost = feed.lost
        feed.lost = false
        // Edits and deletes of messages already delivered may have been missed with the rest;
        // resent as they are now (a client applies them by seq, so a repeat changes nothing).
        const [read, changed] = await Promise.all([
          history.after(feed.room, since),
          lost && since > 0 ? history.changedSince(feed.room, since) : Promise.resolve([])
        ])
        if (!current(feed) || feed.state !== 'live') return
        for (const member of changed) options.deliver({ kind: 'updated', message: member })
        let latest = read.latest
        if (latest < 0) {
          // The room is gone: its room_deleted event is on its way.
          feed.early.clear()
          break
        }
        if (latest < feed.delivered) {
          // Redis says fewer seqs were given out than this node delivered: a replica that lacked
          // the last writes was promoted (or the room was made again, and starts over). The seqs
          // delivered here must not be given out again: raise the room's seq past them.
          const behind = history.raise === undefined ? 0 : await history.raise(feed.room, feed.delivered, feed.createdAt)
          if (!current(feed) || feed.state !== 'live') return
          if (behind < 0) {
            feed.early.clear()
            break
          }
          if (behind > 0) {
            // The seqs skipped were delivered here and are gone from Redis: lost.
            stats.seqRaises++
            stats.lostSeqs += behind
            log.error({ room: feed.room, from: latest, to: feed.delivered },
              'the room\'s seq in Redis was behind what this node delivered (a failover to a replica that lacked the last writes?): raised, not reused')
          }
          latest = feed.delivered
        }
        stats.repairs++
        // What came over the channel meanwhile, merged with history, in seq order.
        const found = new Map(feed.early)
        feed.early.clear()
        for (const { message, json } of read.messages) {
          if (!found.has(message.seq)) stats.repaired++
          found.set(message.seq, { kind: 'message', message, json })
        }
        // A bounded read stops short: what it reached is where this pass ends, and the next reads on.
        if (read.more === true && read.messages.length > 0) {
          latest = Math.min(latest, read.messages[read.messages.length - 1]!.message.seq)
          feed.again = true
        }
        // Up to latest, history was complete when read: what is missing was trimmed, or, at or
        // after the oldest message retained, lost (a failover to a replica that lacked it).
        const oldest = read.oldest
        const from = Math.max(since + 1, oldest)
        let present = 0
        for (const seq of found.keys()) if (seq >= from && seq <= latest) present++
        const missing = oldest > 0 && latest >= from ? latest - from + 1 - present : 0
        if (missing > 0) {
          stats.lostSeqs += missing
          log.error({ room: feed.room, after: since, upTo: latest, missing }, 'messages missing from the room\'s history were skipped')
        }
        for (const seq of [...found.keys()].sort((a, b) => a - b)) {
          if (seq <= feed.delivered) continue
          if (seq <= latest || seq === feed.delivered + 1) emit(feed, found.get(seq)!)
          else feed.early.set(seq, found.get(seq)!)
        }
        if (latest > feed.delivered) feed.delivered = latest
        drain(feed, false)
        // Still a gap beyond what was read: those came after the read; read again.
        if (feed.early.size > 0) feed.again = true
      } while (feed.again)
    } catch (err) {
      log.warn({ err, room: feed.room }, 'reading missed messages failed; retrying')
      feed.lost = true
      setTimeout(() => repair(feed), RETRY_MS).unref()
    } finally {
      feed.repairing = false
      settle(feed)
      flush(feed)
    }
  }

  /** Resolves the waits that are caught up; reads history for those kept waiting too long. */
  function settle (feed: Feed): void {
    if (feed.waiters.length === 0) return
    feed.waiters = feed.waiters.filter((waiter) => {
      if (waiter.seq > feed.delivered) return true
      waiter.resolve()
      return false
    })
    if (feed.waiters.length === 0) {
      clearTimeout(feed.stall)
      feed.stall = undefined
    } else if (feed.stall === undefined) {
      feed.stall = setTimeout(() => stalled(feed), REPAIR_AFTER_MS)
      feed.stall.unref()
    }
  }

  function stalled (feed: Feed): void {
    feed.stall = undefined
    if (!current(feed)) return
    const deadline = Date.now() - COMMAND_TIMEOUT_MS
    feed.waiters = feed.waiters.filter((waiter) => {
      if (waiter.since > deadline) return true
      waiter.reject(new Error(`room ${feed.room}: seq ${waiter.seq} did not arrive`))
      return false
    })
    repair(feed)
    settle(feed)
  }

  function close (feed: Feed): void {
    if (byRoom.get(feed.room) === feed) byRoom.delete(feed.room)
    if (byChannel.get(feed.keys.channel) === feed) byChannel.delete(feed.keys.channel)
    clearTimeout(feed.stall)
    clearTimeout(feed.idle)
    subscriber.unsubscribe(feed.keys.channel)
    // Nobody here waits for this room's messages any more.
    for (const waiter of feed.waiters) waiter.resolve()
    feed.waiters = []
    feed.early.clear()
    feed.queued = []
  }

  return {
    stats,
    want (room) {
      if (closed) return
      const existing = byRoom.get(room)
      if (existing !== undefined) {
        clearTimeout(existing.idle)
        existing.idle = undefined
        return
      }
      const feed: Feed = {
        room,
        keys: roomKeys(room),
        state: 'opening',
        opening: Promise.resolve(),
        delivered: -1,
        createdAt: '',
        early: new Map(),
        queued: [],
        lost: false,
        repairing: false,
        again: false,
        waiters: [],
        stall: undefined,
        idle: undefined
      }
      byRoom.set(room, feed)
      byChannel.set(feed.keys.channel, feed)
      open(feed)
    },
    unwant (room) {
      const feed = byRoom.get(room)
      if (feed === undefined || feed.idle !== undefined) return
      feed.idle = setTimeout(() => close(feed), lingerMs)
      feed.idle.unref()
    },
    async ready (room) {
      const feed = byRoom.get(room)
      if (feed === undefined) throw new Error(`room ${room} is not followed on this node`)
      if (feed.state === 'failed') open(feed)
      await feed.opening
    },
    caughtUp (room, seq) {
      const feed = byRoom.get(room)
      if (feed === undefined || feed.state !== 'live' || feed.delivered >= seq) return Promise.resolve()
      return new Promise((resolve, reject) => {
        feed.waiters.push({ seq, since: Date.now(), resolve, reject })
        settle(feed)
      })
    },
    async barrier (room) {
      const feed = byRoom.get(room)
      if (feed !== undefined) await subscriber.barrier(feed.keys.channel)
    },
    floor (room) {
      const feed = byRoom.get(room)
      return feed === undefined || feed.state !== 'live' ? undefined : { seq: feed.delivered, createdAt: feed.createdAt }
    },
    message (channel, text) {
      const feed = byChannel.get(channel)
      if (feed === undefined || closed) return
      const event = parseRoomEvent(text, options.events)
      if (event === undefined || roomOf(event) !== feed.room) {
        log.warn({ channel, event: text.slice(0, 200) }, 'ignored a malformed event from Redis')
        return
      }
      if (event.kind === 'message') {
        if (feed.state !== 'failed') take(feed, event)
        return
      }
      if (event.kind === 'room_deleted') {
        // A room made again under this id starts at seq 1: the next member here reopens the feed.
        const queued = feed.queued
        feed.state = 'failed'
        feed.early.clear()
        feed.queued = []
        for (const waiter of feed.waiters) waiter.resolve()
        feed.waiters = []
        for (const earlier of queued) options.deliver(earlier)
        options.deliver(event)
        return
      }
      // Behind messages still missing (or a feed not yet open), other events wait their turn.
      if (feed.state === 'live' && !feed.repairing && feed.early.size === 0 && feed.queued.length === 0) options.deliver(event)
      else if (feed.state !== 'failed') feed.queued.push(event)
      else options.deliver(event)
    },
    restored (channels) {
      for (const channel of channels) {
        const feed = byChannel.get(channel)
        if (feed === undefined) continue
        feed.lost = true
        repair(feed)
      }
    },
    rooms: () => byRoom.size,
    followed: () => [...byRoom.keys()],
    close () {
      if (closed) return
      closed = true
      for (const feed of [...byRoom.values()]) close(feed)
    }
  }
}
