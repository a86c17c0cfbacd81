import { Refused } from '../../engine/extension.ts'
import type { ChatHub } from '../../hub/chat-hub.ts'
import type { Connection } from '../../hub/connection.ts'
import type { MessageUpdates } from '../../hub/message-updates.ts'
import type { MessageService } from '../../hub/messages.ts'
import type { AckFrame } from '../../schemas/frames.ts'
import type { DeleteFrame, EditFrame } from './schemas.ts'
import type { Changer, EditChange, EditsStore } from './store.ts'

export interface MessageEditsOptions {
  hub: ChatHub
  messages: MessageService
  updates: MessageUpdates
  store: EditsStore
}

/**
 * Edits and deletes: the author over WebSocket, an operator over REST. A change keeps the
 * message's seq, and every member of the room gets the whole message as it now is in an
 * `updated` frame, published with the change (edits are not coalesced). An edit's new text
 * brings the fields features derive from text (mentions) with it.
 */
export class MessageEdits {
  private readonly hub: ChatHub
  private readonly messages: MessageService
  private readonly updates: MessageUpdates
  private readonly store: EditsStore

  constructor (options: MessageEditsOptions) {
    this.hub = options.hub
    this.messages = options.messages
    this.updates = options.updates
    this.store = options.store
  }

  async edit (connection: Connection, frame: EditFrame): Promise<void> {
    if (!await this.allowed(connection, frame.room, frame.ref)) return
    let change: EditChange
    try {
      change = await this.editAs({ user: connection.user }, frame.room, frame.seq, frame.text)
    } catch (err) {
      if (err instanceof Refused) return this.hub.reply(connection, err.code, err.message, frame.ref)
      throw err
    }
    this.answer(connection, 'edit', frame, change)
  }

  /** The author deletes its message; an owner or a moderator of the room any message, joined or not. */
  async delete (connection: Connection, frame: DeleteFrame): Promise<void> {
    const role = await this.hub.powers.roleOf(connection, frame.room)
    if (role === undefined && !await this.allowed(connection, frame.room, frame.ref)) return
    this.answer(connection, 'delete', frame, await this.deleteAs(role === undefined ? { user: connection.user } : { admin: true }, frame.room, frame.seq))
  }

  /**
   * An edit by `by` (a user: its own messages; an operator: any). A user's new text goes through
   * the text checks first (word filter, pre-send hook), as a new message's does; rejects with
   * Refused when one refuses it. An operator's is trusted.
   */
  async editAs (by: Changer, room: string, seq: number, text: string): Promise<EditChange> {
    const checked = 'user' in by ? await this.messages.checkedText({ room, user: by.user, text, edit: seq }) : text
    const fields = this.messages.fieldsOfText(checked)
    return await this.updates.change(room, seq, (publish) => this.store.edit(room, seq, checked, fields, by, publish), { coalesce: false })
  }

  /** A delete by `by` (a user: its own messages; an operator or a moderator: any). */
  deleteAs (by: Changer, room: string, seq: number): Promise<EditChange> {
    const fields = this.messages.fieldsOfText('')
    return this.updates.change(room, seq, (publish) => this.store.delete(room, seq, fields, by, publish), { coalesce: false })
  }

  /** A member may change its messages; so may an author who left, if it may still read the room. */
  private async allowed (connection: Connection, room: string, ref: string | undefined): Promise<boolean> {
    const refused = await this.hub.refusal(connection, room)
    if (refused === undefined) return true
    this.hub.reply(connection, refused.code, refused.message, ref)
    return false
  }

  private answer (connection: Connection, verb: 'edit' | 'delete', frame: EditFrame | DeleteFrame, change: EditChange): void {
    const { room, seq, ref } = frame
    switch (change.outcome) {
      case 'changed':
      case 'unchanged': {
        const ack: AckFrame = { type: 'ack', room, seq, id: change.message.id }
        if (ref !== undefined) ack.ref = ref
        return connection.send(ack)
      }
      case 'forbidden':
        return this.hub.reply(connection, 'forbidden', `only the author may ${verb} message ${seq}`, ref)
      case 'not_found':
        return this.hub.reply(connection, 'not_found', verb === 'edit'
          ? `message ${seq} of room ${room} is not retained or was deleted`
          : `message ${seq} of room ${room} is not retained`, ref)
    }
  }
}
