import type { Change } from '../engine/types.ts'
import type { ChatHub } from '../hub/chat-hub.ts'
import type { Connection } from '../hub/connection.ts'
import type { AckFrame, DeleteFrame, EditFrame } from '../schemas/frames.ts'

/**
 * Edits and deletes: the author over WebSocket, an operator over REST. A change keeps the
 * message's seq, and every member of the room gets the whole message as it now is in an
 * `updated` frame (published by the engine with the change).
 */
export class MessageEdits {
  private readonly hub: ChatHub

  constructor (hub: ChatHub) {
    this.hub = hub
  }

  async edit (connection: Connection, frame: EditFrame): Promise<void> {
    if (!await this.allowed(connection, frame.room, frame.ref)) return
    const change = await this.hub.store.editMessage(frame.room, frame.seq, frame.text, { user: connection.user })
    this.answer(connection, 'edit', frame, change)
  }

  async delete (connection: Connection, frame: DeleteFrame): Promise<void> {
    if (!await this.allowed(connection, frame.room, frame.ref)) return
    const change = await this.hub.store.deleteMessage(frame.room, frame.seq, { user: connection.user })
    this.answer(connection, 'delete', frame, change)
  }

  /** An operator's edit of any message. */
  async editAny (room: string, seq: number, text: string): Promise<Change> {
    return this.published(await this.hub.store.editMessage(room, seq, text, { admin: true }))
  }

  /** An operator's delete of any message. */
  async deleteAny (room: string, seq: number): Promise<Change> {
    return this.published(await this.hub.store.deleteMessage(room, seq, { admin: true }))
  }

  private published (change: Change): Change {
    if (change.outcome === 'changed') this.hub.publish({ kind: 'updated', message: change.message })
    return change
  }

  /** A member may change its messages; so may an author who left, if it may still read the room. */
  private async allowed (connection: Connection, room: string, ref: string | undefined): Promise<boolean> {
    const refused = await this.hub.refusal(connection, room)
    if (refused === undefined) return true
    this.hub.reply(connection, refused.code, refused.message, ref)
    return false
  }

  private answer (connection: Connection, verb: 'edit' | 'delete', frame: EditFrame | DeleteFrame, change: Change): void {
    const { room, seq, ref } = frame
    this.published(change)
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
