import type { SanctionKind } from './schemas.ts'

/** A ban or a mute as stored: when it ends (Unix ms, null: until lifted) and why. */
export interface SanctionRecord { user: string, kind: SanctionKind, until: number | null, reason: string | null }

/** The port of bans and mutes: durable, shared by every node, gone with the room. */
export interface SanctionsStore {
  /** Bans or mutes the user in the room, replacing one of the same kind; false when the room does not exist. */
  set (room: string, record: SanctionRecord): Promise<boolean>
  /** Lifts the user's ban or mute (nothing when it had none). */
  remove (room: string, user: string, kind: SanctionKind): Promise<void>
  /** Records `member.kicked` for webhooks (a kick, or the kick of a ban): the connections go through a broker event. */
  kicked (room: string, user: string, reason: string): Promise<void>
  /** The room's bans and mutes, ended ones included (the caller compares `until` with its clock). */
  ofRoom (room: string): Promise<SanctionRecord[]>
}
