import { randomUUID } from 'node:crypto'
import type { ChatHub } from '../../hub/chat-hub.ts'
import type { Connection } from '../../hub/connection.ts'
import type { MessageEdits } from '../message-edits/message-edits.ts'
import type { ReportFrame } from './schemas.ts'
import type { ReportRecord, ReportsStore } from './store.ts'

/**
 * Reports: a member reports a message of a room it joined, with the message as it is then; the
 * operators' queue lists open reports, and resolving one dismisses it or deletes the message.
 */
export class Reports {
  constructor (private readonly hub: ChatHub, private readonly store: ReportsStore, private readonly edits: MessageEdits) {}

  async report (connection: Connection, frame: ReportFrame): Promise<void> {
    const { room, seq, ref } = frame
    if (!this.hub.isMember(connection, room)) return this.hub.reply(connection, 'not_member', `join room ${room} before reporting a message in it`, ref)
    const reported = await this.store.add(room, seq, connection.user, frame.reason ?? null, randomUUID(), new Date().toISOString())
    if (reported.outcome === 'not_found') return this.hub.reply(connection, 'not_found', `message ${seq} of room ${room} is not retained or was deleted`, ref)
    const ack = { type: 'ack' as const, room, seq, id: reported.report.message.id }
    connection.send(ref === undefined ? ack : { ...ack, ref })
  }

  open (limit: number): Promise<ReportRecord[]> {
    return this.store.open(limit)
  }

  /** Dismisses the report, or deletes its message first; false when it is not open. */
  async resolve (id: string, action: 'dismiss' | 'delete'): Promise<boolean> {
    const report = await this.store.get(id)
    if (report === undefined) return false
    // A message no longer retained (or its room gone) has nothing left to delete.
    if (action === 'delete') await this.edits.deleteAs({ admin: true }, report.room, report.seq)
    await this.store.close(id)
    return true
  }
}
