import type { ChatHub } from '../../hub/chat-hub.ts'
import type { Connection } from '../../hub/connection.ts'
import { Refused } from '../../engine/extension.ts'
import type { Message } from '../../schemas/common.ts'
import type { SearchFrame } from './schemas.ts'
import { SEARCH_LIMIT_DEFAULT } from './schemas.ts'
import type { SearchStore } from './store.ts'
import { wordsOf } from './words.ts'

export interface SearchOptions {
  hub: ChatHub
  store: SearchStore
  /** The rooms where the user has a read seq (the read-state feature's). */
  roomsRead: (user: string) => Promise<string[]>
}

/**
 * Search: messages whose current text has every word of a query, each word matching the start
 * of a word of the text (case-insensitive), never deleted ones, newest first. In one room for
 * its members (and operators over REST); without a room, in every room the user has a read seq
 * in and may read.
 */
export class Search {
  constructor (private readonly options: SearchOptions) {}

  async frame (connection: Connection, frame: SearchFrame): Promise<void> {
    const { hub } = this.options
    let words: string[]
    try {
      words = queryWords(frame.query)
    } catch (err) {
      if (err instanceof Refused) return hub.reply(connection, err.code, err.message, frame.ref)
      throw err
    }
    let rooms: string[]
    if (frame.room !== undefined) {
      if (!hub.isMember(connection, frame.room)) return hub.reply(connection, 'not_member', `join room ${frame.room} to search it`, frame.ref)
      rooms = [frame.room]
    } else {
      rooms = await this.readableRooms(connection)
    }
    const messages = await this.options.store.search(rooms, words, frame.limit ?? SEARCH_LIMIT_DEFAULT)
    connection.send(frame.ref === undefined ? { type: 'search', messages } : { type: 'search', messages, ref: frame.ref })
  }

  /** One room's messages, for operators (REST); the room's existence is the caller's to check. */
  async inRoom (room: string, query: string, limit = SEARCH_LIMIT_DEFAULT): Promise<Message[]> {
    return await this.options.store.search([room], queryWords(query), limit)
  }

  /** The rooms with a read seq of the user that it may read now (a grant revoked since is left out). */
  private async readableRooms (connection: Connection): Promise<string[]> {
    const rooms = await this.options.roomsRead(connection.user)
    const refused = await Promise.all(rooms.map((room) => this.options.hub.refusal(connection, room)))
    return rooms.filter((_room, i) => refused[i] === undefined)
  }
}

/** The words of a query; a query with none (punctuation only) is refused. */
export function queryWords (query: string): string[] {
  const words = [...new Set(wordsOf(query))]
  if (words.length === 0) throw new Refused('bad_request', 'search: the query has no word (letters or digits)')
  return words
}
