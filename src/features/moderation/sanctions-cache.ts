import type { SanctionKind } from './schemas.ts'
import type { SanctionRecord, SanctionsStore } from './store.ts'

/**
 * Each room's bans and mutes as this node last read them, so that checking a `message`,
 * `react` or `typing` frame against the mutes costs no storage read. A change made anywhere is
 * announced to the nodes with members in the room (they forget the room and read it again); a
 * room read longer than MAX_AGE_MS ago is read again, for nodes that had no member there when a
 * change was announced.
 */
const MAX_AGE_MS = 10_000

interface RoomSanctions { readAt: number, records: Map<string, SanctionRecord> }

const keyOf = (kind: SanctionKind, user: string) => `${kind} ${user}`

export class SanctionsCache {
  private readonly rooms = new Map<string, RoomSanctions>()
  private readonly loading = new Map<string, Promise<RoomSanctions>>()

  constructor (private readonly store: SanctionsStore) {}

  /** The user's ban or mute in the room now in force, if the room is read and fresh; `stale` when it must be read first. */
  peek (room: string, user: string, kind: SanctionKind, now = Date.now()): SanctionRecord | undefined | 'stale' {
    const entry = this.rooms.get(room)
    if (entry === undefined || now - entry.readAt > MAX_AGE_MS) return 'stale'
    return inForce(entry.records.get(keyOf(kind, user)), now)
  }

  /** The same, reading the room first when needed (`fresh`: always). */
  async get (room: string, user: string, kind: SanctionKind, fresh = false): Promise<SanctionRecord | undefined> {
    const peeked = fresh ? 'stale' : this.peek(room, user, kind)
    if (peeked !== 'stale') return peeked
    const entry = await this.load(room)
    return inForce(entry.records.get(keyOf(kind, user)), Date.now())
  }

  /** The room's sanctions of one kind now in force, by user id. */
  async list (room: string, kind: SanctionKind): Promise<SanctionRecord[]> {
    const entry = await this.load(room)
    const now = Date.now()
    return [...entry.records.values()].filter((record) => record.kind === kind && inForce(record, now) !== undefined)
      .sort((a, b) => a.user.localeCompare(b.user))
  }

  forget (room: string): void {
    this.rooms.delete(room)
  }

  private load (room: string): Promise<RoomSanctions> {
    let pending = this.loading.get(room)
    if (pending === undefined) {
      pending = this.store.ofRoom(room).then((records) => {
        const entry = { readAt: Date.now(), records: new Map(records.map((record) => [keyOf(record.kind, record.user), record])) }
        this.rooms.set(room, entry)
        return entry
      }).finally(() => this.loading.delete(room))
      this.loading.set(room, pending)
    }
    return pending
  }
}

function inForce (record: SanctionRecord | undefined, now: number): SanctionRecord | undefined {
  return record !== undefined && (record.until === null || record.until > now) ? record : undefined
}
