import type { ChatHub } from '../../hub/chat-hub.ts'
import type { Connection } from '../../hub/connection.ts'
import type { MessageUpdates } from '../../hub/message-updates.ts'
import type { AckFrame } from '../../schemas/frames.ts'
import { EMOJI_MAX, type ReactFrame } from './schemas.ts'
import type { ReactionsStore } from './store.ts'

/**
 * Reactions: members add and remove theirs with `react`; every member then gets the message as it
 * now is in `updated`, coalesced per message (UPDATE_WINDOW_MS), so a burst of reactions on one
 * message in a big room costs each member a frame or two a second, not one per reaction.
 */
export class Reactions {
  private readonly hub: ChatHub
  private readonly updates: MessageUpdates
  private readonly store: ReactionsStore

  constructor (options: { hub: ChatHub, updates: MessageUpdates, store: ReactionsStore }) {
    this.hub = options.hub
    this.updates = options.updates
    this.store = options.store
  }

  async react (connection: Connection, frame: ReactFrame): Promise<void> {
    const { room, seq, emoji, ref } = frame
    if (!this.hub.isMember(connection, room)) return this.hub.reply(connection, 'not_member', `join room ${room} before reacting in it`, ref)
    // The contract counts code points; the schema could only bound code units.
    if ([...emoji].length > EMOJI_MAX) return this.hub.reply(connection, 'bad_request', `react: emoji must be at most ${EMOJI_MAX} characters`, ref)
    const active = frame.active ?? true
    const change = await this.updates.change(room, seq, (publish) => this.store.react(room, seq, connection.user, emoji, active, publish))
    if (change.outcome !== 'changed' && change.outcome !== 'unchanged') {
      return this.hub.reply(connection, 'not_found', `message ${seq} of room ${room} is not retained or was deleted`, ref)
    }
    const ack: AckFrame = { type: 'ack', room, seq, id: change.message.id }
    if (ref !== undefined) ack.ref = ref
    connection.send(ack)
  }

  list (room: string, seq: number) {
    return this.store.list(room, seq)
  }
}
