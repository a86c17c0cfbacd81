import { roomObject } from '../engine/shared/room-record.ts'
import type { ChatEngine, OnlineUser, RoomInput, RoomPatch, RoomRecord } from '../engine/types.ts'
import type { Room } from '../schemas/rest.ts'

/**
 * Rooms as operators manage them over REST: create, list, change and delete rooms, grants, and
 * who is online. Members hear of what concerns them through the engine (a deleted room, a
 * revoked grant's kick), on every node. Calls on a room that does not exist resolve undefined
 * (or false), which the routes answer with 404.
 */
export class RoomAdmin {
  private readonly engine: ChatEngine
  private readonly defaultHistoryLimit: number
  private readonly updateListeners: ((room: Room) => void)[] = []

  constructor (engine: ChatEngine, defaultHistoryLimit: number) {
    this.engine = engine
    this.defaultHistoryLimit = defaultHistoryLimit
  }

  /** The room object, or undefined when a room with that id exists. */
  async create (input: RoomInput): Promise<Room | undefined> {
    const record = await this.engine.store.createRoom(input)
    return record === undefined ? undefined : this.describe(record)
  }

  /** A page of rooms by id after `cursor`, and the cursor of the next page (null on the last). */
  async list (limit: number, cursor?: string): Promise<{ rooms: Room[], nextCursor: string | null }> {
    const page = await this.engine.store.listRooms(limit, cursor)
    const last = page.rooms.at(-1)
    return {
      rooms: await Promise.all(page.rooms.map((record) => this.describe(record))),
      nextCursor: page.hasMore && last !== undefined ? last.id : null
    }
  }

  async get (id: string): Promise<Room | undefined> {
    const record = await this.engine.store.getRoom(id)
    return record === undefined ? undefined : this.describe(record)
  }

  async exists (id: string): Promise<boolean> {
    return await this.engine.store.getRoom(id) !== undefined
  }

  /** The room's settings as stored (no online count: no broker call), or undefined. */
  async settings (id: string): Promise<RoomRecord | undefined> {
    return await this.engine.store.getRoom(id)
  }

  /** Changes the room (REST's PATCH, a moderator's slow_mode); listeners hear of it on this node. */
  async update (id: string, patch: RoomPatch): Promise<Room | undefined> {
    const record = await this.engine.store.updateRoom(id, patch)
    if (record === undefined) return undefined
    const room = await this.describe(record)
    for (const listener of this.updateListeners) listener(room)
    return room
  }

  /** Calls `listener` after each change of a room made on this node (a feature tells the other nodes). */
  onUpdate (listener: (room: Room) => void): void {
    this.updateListeners.push(listener)
  }

  /** Deletes the room; its members on every node get `room_deleted`. */
  async delete (id: string): Promise<boolean> {
    const deleted = await this.engine.store.deleteRoom(id)
    if (deleted) {
      await this.engine.broker.presenceClear(id)
      this.engine.broker.publish({ kind: 'room_deleted', room: id })
    }
    return deleted
  }

  async online (id: string): Promise<OnlineUser[] | undefined> {
    if (!await this.exists(id)) return undefined
    return this.engine.broker.online(id)
  }

  async grant (id: string, user: string): Promise<boolean> {
    if (!await this.exists(id)) return false
    await this.engine.store.setGrant(id, user)
    return true
  }

  /** Revokes the grant; the user's connections in the room, on every node, get `kicked`. */
  async revoke (id: string, user: string): Promise<boolean> {
    if (!await this.exists(id)) return false
    await this.engine.store.deleteGrant(id, user)
    this.engine.broker.publish({ kind: 'kick', room: id, user, reason: 'access revoked' })
    return true
  }

  /** The user's connections in the room, on every node, get `kicked` with `reason`; they may join again unless refused. */
  kick (id: string, user: string, reason: string): void {
    this.engine.broker.publish({ kind: 'kick', room: id, user, reason })
  }

  /** Room object for REST: the stored record plus its online user count. */
  private async describe (record: RoomRecord): Promise<Room> {
    const online = await this.engine.broker.online(record.id)
    return roomObject(record, this.defaultHistoryLimit, online.length)
  }
}
