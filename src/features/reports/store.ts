import type { Message } from '../../schemas/common.ts'

/** An open report: a member's complaint about one message, with the message as it was. */
export interface ReportRecord {
  id: string
  room: string
  seq: number
  message: Message
  reporter: string
  reason: string | null
  time: string
}

/** What adding a report did: stored it, or found no such message (not retained, deleted, or no room). */
export type Reported = { outcome: 'reported', report: ReportRecord } | { outcome: 'not_found' }

/**
 * The port of reports: the operators' queue, durable and shared by every node. Adding one
 * records `message.reported` for webhooks in the same step; a report goes with its room.
 */
export interface ReportsStore {
  add (room: string, seq: number, reporter: string, reason: string | null, id: string, time: string): Promise<Reported>
  /** Open reports, oldest first. */
  open (limit: number): Promise<ReportRecord[]>
  get (id: string): Promise<ReportRecord | undefined>
  /** Takes the report out of the queue (nothing when it is not there). */
  close (id: string): Promise<void>
}
