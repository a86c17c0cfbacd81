import { createHash } from 'node:crypto'
import type { ChatStore } from '../../engine/types.ts'
import type { ChatHub } from '../../hub/chat-hub.ts'
import type { Connection } from '../../hub/connection.ts'
import type { RoomAdmin } from '../../rooms/room-admin.ts'
import type { ReadState } from '../read-state/read-state.ts'
import type { Dm, OpenDmFrame, RoomEntry, RoomsFrame } from './schemas.ts'
import type { DmStore } from './store.ts'

/**
 * The DM room of a set of users: `dm-` and 40 hex digits of the SHA-256 of the sorted ids, so
 * the same people get the same room whoever asks, on every node, with no lookup.
 */
export function dmRoomId (users: readonly string[]): string {
  return `dm-${createHash('sha256').update([...users].sort().join('\n')).digest('hex').slice(0, 40)}`
}

export interface DirectMessagesOptions {
  hub: ChatHub
  roomAdmin: RoomAdmin
  rooms: ChatStore
  readState: ReadState
  store: DmStore
}

/**
 * Direct messages and the user's rooms list. A DM is a private room granted to exactly its
 * participants; opening it again (by anyone of them, on any node) finds the same room.
 */
export class DirectMessages {
  constructor (private readonly options: DirectMessagesOptions) {}

  /** Opens (creating once) the DM room of `users`, who are 2 to 10 distinct ids. */
  async open (users: string[]): Promise<Dm> {
    const participants = [...new Set(users)].sort()
    const room = dmRoomId(participants)
    // Created once: a second open finds it (undefined), concurrent ones agree on the id.
    await this.options.roomAdmin.create({ id: room, name: participants.join(', ').slice(0, 200), private: true })
    for (const user of participants) await this.options.rooms.setGrant(room, user)
    await this.options.store.save(room, participants)
    return { room, users: participants }
  }

  async openFrame (connection: Connection, frame: OpenDmFrame): Promise<void> {
    const users = [...new Set([...frame.users, connection.user])]
    if (users.length < 2) return this.options.hub.reply(connection, 'bad_request', 'open_dm needs at least one other user', frame.ref)
    const dm = await this.open(users)
    connection.send(frame.ref === undefined ? { type: 'dm', ...dm } : { type: 'dm', ...dm, ref: frame.ref })
  }

  /**
   * The rooms the user has a read seq in, a grant to or a DM in, newest message first (rooms
   * without messages last, by id), each with its unread and mention counts and newest message.
   */
  async roomsOf (user: string): Promise<RoomEntry[]> {
    const [granted, dms] = await Promise.all([this.options.rooms.grantedRooms(user), this.options.store.roomsOf(user)])
    const unread = await this.options.readState.unreadOf(user, [...granted, ...dms])
    const isDm = await this.options.store.areDms(unread.map((entry) => entry.room))
    const entries = await Promise.all(unread.map(async (entry, i): Promise<RoomEntry | undefined> => {
      const record = await this.options.rooms.getRoom(entry.room)
      if (record === undefined) return undefined
      const last = entry.seq === 0 ? undefined : (await this.options.rooms.history(entry.room, 1))[0]
      return {
        room: entry.room,
        name: record.name,
        private: record.private,
        dm: isDm[i] === true,
        seq: entry.seq,
        readSeq: entry.readSeq,
        unread: entry.unread,
        mentions: typeof entry.mentions === 'number' ? entry.mentions : 0,
        last: last ?? null
      }
    }))
    return entries.filter((entry): entry is RoomEntry => entry !== undefined).sort(newestFirst)
  }

  async roomsFrame (connection: Connection, frame: RoomsFrame): Promise<void> {
    const rooms = await this.roomsOf(connection.user)
    connection.send(frame.ref === undefined ? { type: 'rooms', rooms } : { type: 'rooms', rooms, ref: frame.ref })
  }
}

function newestFirst (a: RoomEntry, b: RoomEntry): number {
  if (a.last !== null && b.last !== null) return b.last.time.localeCompare(a.last.time) || a.room.localeCompare(b.room)
  if (a.last !== null) return -1
  if (b.last !== null) return 1
  return a.room.localeCompare(b.room)
}
