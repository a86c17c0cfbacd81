import { Refused } from '../engine/extension.ts'
import type { Appended, ChatEngine } from '../engine/types.ts'
import { NotFoundError, OutcomeUnknown } from '../engine/types.ts'
import { LIMIT_DEFAULT, type Message } from '../schemas/common.ts'
import type { AckFrame, HistoryFrame, MessageFrame } from '../schemas/frames.ts'
import type { ChatHub } from './chat-hub.ts'
import type { Connection } from './connection.ts'

/** A message on its way to storage, as features see it before it is stored. */
export interface Draft {
  room: string
  user: string
  text: string
  /** The fields features set on the message (replyTo, mentions…); stored and published with it. */
  fields: Record<string, unknown>
  /** The `message` frame or the REST body it came in: a feature reads the fields it added there. */
  input: Record<string, unknown>
}

/**
 * A feature's say on a message before it is stored: it may set fields on the draft, or throw
 * Refused to refuse it (the sender gets the error, nothing is stored). Synchronous unless it
 * must read something: a plain message then waits for nothing.
 */
export type Composer = (draft: Draft) => void | Promise<void>

/** A text on its way to storage: a new message's (with its thread root), or an edit's (`edit`: the seq). */
export interface TextInput {
  room: string
  user: string
  text: string
  replyTo?: number
  edit?: number
}

/**
 * A check of a user's text before it is stored, for new messages and edits alike (a word filter,
 * a moderation service): nothing keeps the text, a string replaces it, Refused refuses it.
 */
export type TextCheck = (input: TextInput) => void | string | Promise<void | string>

/** Fields a feature derives from a text (mentions): for new messages and for edits alike. */
export type TextFields = (text: string) => Record<string, unknown>

/** History as a feature serves it for a query with its own field (`thread`); undefined when the query is not its. */
export type HistorySource = (room: string, query: HistoryQuery) => Promise<Message[]> | undefined

export interface HistoryQuery {
  limit: number
  before?: number
  /** The frame or REST query: a feature reads the fields it added there. */
  input: Record<string, unknown>
}

export interface MessageListeners {
  /** A message from this connection was stored (a duplicate is not), with the hooks' effects. */
  sent: (connection: Connection, message: Message, effects: Record<string, unknown>) => void
  /** Any new message was stored (WebSocket or REST), with the hooks' effects. */
  stored: (message: Message, effects: Record<string, unknown>) => void
}

const NO_EFFECTS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>

/**
 * Messages: sending (the `message` frame and REST posts), and history (the `history` frame and
 * REST reads). Features take part through composers (fields and refusals before a message is
 * stored), text fields, history sources, and the listeners; their storage hooks run inside the
 * append itself (StorageExtension).
 */
export class MessageService {
  private readonly hub: ChatHub
  private readonly engine: ChatEngine
  private readonly composers: Composer[] = []
  private readonly textChecks: TextCheck[] = []
  /**
   * Per connection and room, the last message still being prepared (an async composer or text
   * check: a moderation service's answer). Later messages of that connection to that room wait
   * behind it, so they keep their order; its other rooms and the connection's other frames do not.
   */
  private readonly lanes = new WeakMap<Connection, Map<string, Promise<void>>>()
  private readonly textFields: TextFields[] = []
  private readonly sources: HistorySource[] = []
  private readonly listeners: { [K in keyof MessageListeners]: MessageListeners[K][] } = { sent: [], stored: [] }

  constructor (hub: ChatHub, engine: ChatEngine) {
    this.hub = hub
    this.engine = engine
  }

  compose (composer: Composer): void {
    this.composers.push(composer)
  }

  checkText (check: TextCheck): void {
    this.textChecks.push(check)
  }

  /** A user's text after every check (edits): the text to store; rejects with Refused. */
  async checkedText (input: TextInput): Promise<string> {
    return await this.runTextChecks(input)
  }

  deriveFromText (fields: TextFields): void {
    this.textFields.push(fields)
  }

  historySource (source: HistorySource): void {
    this.sources.push(source)
  }

  on<K extends keyof MessageListeners> (name: K, listener: MessageListeners[K]): void {
    this.listeners[name].push(listener)
  }

  /** The fields features derive from `text`; a field no longer derived is set to undefined (an edit removes it). */
  fieldsOfText (text: string): Record<string, unknown> {
    const fields: Record<string, unknown> = {}
    for (const derive of this.textFields) Object.assign(fields, derive(text))
    return fields
  }

  /**
   * The `message` frame: stores the message, publishes it, and acknowledges it. A message whose
   * preparation waits (a composer or a check that reads or asks something) does not hold the
   * connection's other frames: it waits in its room's lane. Preparations run at once, side by
   * side; the lane only keeps the stores in the order the messages were sent, so a check that
   * hangs delays its room by its own wait, not by the sum of the waits before it.
   */
  send (connection: Connection, frame: MessageFrame): void {
    const { room, text, ref } = frame
    if (!connection.rooms.has(room)) return this.hub.reply(connection, 'not_member', `join room ${room} before sending to it`, ref)
    const draft = this.draft(room, connection.user, text, frame)
    const ahead = this.lanes.get(connection)?.get(room)
    let prepared: void | Promise<void>
    try {
      prepared = this.prepare(draft)
    } catch (err) {
      // A composer or check that refuses at once (the word filter).
      return this.refused(connection, err, ref)
    }
    if (ahead === undefined && !(prepared instanceof Promise)) return this.store(connection, draft, frame)
    // The outcome of the preparation, as a value: settled now or later, it is handled in the lane's order.
    const outcome = prepared instanceof Promise ? prepared.then(() => undefined, (err: unknown) => ({ err })) : undefined
    this.queue(connection, room, (ahead ?? Promise.resolve()).then(() => outcome).then((failed) => {
      if (failed === undefined) this.store(connection, draft, frame)
      else this.refused(connection, failed.err, ref)
    }))
  }

  private queue (connection: Connection, room: string, work: Promise<void>): void {
    let lanes = this.lanes.get(connection)
    if (lanes === undefined) this.lanes.set(connection, lanes = new Map())
    const tail: Promise<void> = work.then(() => {
      if (lanes.get(room) === tail) lanes.delete(room)
    })
    lanes.set(room, tail)
  }

  /** Composers, then text checks; a promise only once one of them returns one. */
  private prepare (draft: Draft): void | Promise<void> {
    const composed = this.runComposers(draft)
    if (composed instanceof Promise) return composed.then(() => this.checkDraft(draft))
    return this.checkDraft(draft)
  }

  /** The text checks on a new message; a replaced text brings its own derived fields. */
  private checkDraft (draft: Draft): void | Promise<void> {
    if (this.textChecks.length === 0) return
    const replyTo = typeof draft.fields.replyTo === 'number' ? draft.fields.replyTo : undefined
    const checked = this.runTextChecks({ room: draft.room, user: draft.user, text: draft.text, replyTo })
    const apply = (text: string) => {
      if (text === draft.text) return
      draft.text = text
      Object.assign(draft.fields, this.fieldsOfText(text))
    }
    if (checked instanceof Promise) return checked.then(apply)
    apply(checked)
  }

  /** Runs the text checks in order, each on the text the one before left; a promise only once one returns one. */
  private runTextChecks (input: TextInput, from = 0): string | Promise<string> {
    let text = input.text
    for (let i = from; i < this.textChecks.length; i++) {
      const result = this.textChecks[i]!({ ...input, text })
      if (result instanceof Promise) {
        return result.then((replaced) => this.runTextChecks({ ...input, text: replaced ?? text }, i + 1))
      }
      if (result !== undefined) text = result
    }
    return text
  }

  /** Stores and publishes a message posted over REST; undefined when the room does not exist. Rejects with Refused. */
  async post (room: string, user: string, text: string, input: Record<string, unknown>): Promise<Appended | undefined> {
    const draft = this.draft(room, user, text, input)
    await this.prepare(draft)
    const clientId = typeof input.clientId === 'string' ? input.clientId : undefined
    try {
      const appended = await this.engine.store.append(room, user, draft.text, { clientId, fields: fieldsOrNone(draft.fields) })
      if (!appended.duplicate) this.published(appended)
      return appended
    } catch (err) {
      if (err instanceof NotFoundError) return undefined
      throw err
    }
  }

  /** History of a room (WebSocket and REST): a feature's source when the query is its, else the room's. */
  history (room: string, query: HistoryQuery): Promise<Message[]> {
    for (const source of this.sources) {
      const messages = source(room, query)
      if (messages !== undefined) return messages
    }
    return this.engine.store.history(room, query.limit, query.before)
  }

  /** The `history` frame: members, or readers of a room they may read. */
  async historyFrame (connection: Connection, frame: HistoryFrame): Promise<void> {
    const { room, before, limit = LIMIT_DEFAULT, ref } = frame
    const refused = await this.hub.refusal(connection, room)
    if (refused !== undefined) return this.hub.reply(connection, refused.code, refused.message, ref)
    let messages: Message[]
    try {
      messages = await this.history(room, { limit, before, input: frame })
    } catch (err) {
      if (err instanceof Refused) return this.hub.reply(connection, err.code, err.message, ref)
      throw err
    }
    connection.send(ref === undefined ? { type: 'history', room, messages } : { type: 'history', room, messages, ref })
  }

  private draft (room: string, user: string, text: string, input: Record<string, unknown>): Draft {
    return { room, user, text, fields: this.textFields.length === 0 ? {} : this.fieldsOfText(text), input }
  }

  /** Runs the composers in order; returns a promise only once one of them does. */
  private runComposers (draft: Draft, from = 0): void | Promise<void> {
    for (let i = from; i < this.composers.length; i++) {
      const result = this.composers[i]!(draft)
      if (result instanceof Promise) return result.then(() => this.runComposers(draft, i + 1))
    }
  }

  private store (connection: Connection, draft: Draft, frame: MessageFrame): void {
    const { room, clientId, ref } = frame
    this.engine.store.append(room, connection.user, draft.text, { clientId, fields: fieldsOrNone(draft.fields) }).then((appended) => {
      const { message, duplicate } = appended
      // The sender's copy of its message and its ack leave in one write.
      connection.corked(() => {
        if (!duplicate) {
          this.published(appended)
          for (const listener of this.listeners.sent) listener(connection, message, appended.effects ?? NO_EFFECTS)
        }
        if (connection.closed) return
        const ack: AckFrame = { type: 'ack', room, seq: message.seq, id: message.id }
        if (ref !== undefined) ack.ref = ref
        if (duplicate) ack.duplicate = true
        connection.send(ack)
      })
    }, (err: unknown) => {
      if (err instanceof NotFoundError) return this.hub.reply(connection, 'not_found', `room ${room} no longer exists`, ref)
      this.refused(connection, err, ref)
    })
  }

  private refused (connection: Connection, err: unknown, ref: string | undefined): void {
    if (err instanceof Refused) return this.hub.reply(connection, err.code, err.message, ref)
    this.hub.stats.storageErrors++
    connection.log.error({ err }, 'storing a message failed')
    // Say what is known: a write without an answer may have been stored.
    this.hub.reply(connection, 'internal', err instanceof OutcomeUnknown
      ? 'the message may have been stored (storage did not answer in time): send it again with the same clientId, which stores it once'
      : 'the message was not stored; it may be sent again', ref)
  }

  private published (appended: Appended): void {
    this.hub.stats.messagesStored++
    this.hub.stored({ kind: 'message', message: appended.message })
    for (const listener of this.listeners.stored) listener(appended.message, appended.effects ?? NO_EFFECTS)
  }
}

/** Fields to store with a message, those set; none (no JSON to write or send) when no feature set any. */
function fieldsOrNone (fields: Record<string, unknown>): Record<string, unknown> | undefined {
  let set: Record<string, unknown> | undefined
  for (const key in fields) if (fields[key] !== undefined) (set ??= {})[key] = fields[key]
  return set
}
