import Type, { type Static, type TObject } from 'typebox'
import { Id, type Message } from '../../schemas/common.ts'
import { clientFrame, OptionalRef } from '../../schemas/frame-base.ts'
import type { ProtocolPart } from '../../schemas/protocol-part.ts'

/** What a search looks for: words, each matching the start of a word of a message's text. */
export const SearchQuery = Type.String({ minLength: 1, maxLength: 200, description: 'words; each matches a word of the text that starts with it' })
export const SEARCH_LIMIT_DEFAULT = 20
const SearchLimit = Type.Integer({ minimum: 1, maximum: 100, description: `at most this many messages (default ${SEARCH_LIMIT_DEFAULT})` })

export const SearchFrame = clientFrame('search', { query: SearchQuery, room: Type.Optional(Id), limit: Type.Optional(SearchLimit) })
export const SearchQuerystring = Type.Object({ q: SearchQuery, limit: Type.Optional(SearchLimit) })

/** The messages found, built with the composed message schema. */
export const searchResult = (message: TObject) => Type.Array(message, { description: 'newest first (time, then seq); never deleted ones' })

export type SearchFrame = Static<typeof SearchFrame>
export interface SearchOutFrame { type: 'search', messages: Message[], ref?: string }

export const searchProtocol: ProtocolPart = {
  name: 'search',
  schemas: (build) => ({
    clientFrames: { search: SearchFrame },
    serverFrames: { search: Type.Object({ type: Type.Literal('search'), messages: searchResult(build.message), ...OptionalRef }) }
  }),
  summaries: {
    'client.search': 'Finds messages whose current text has every word of `query` (each matching the start of a word of the text): in `room` (members only), or in every room the user reads',
    'server.search': 'Answer to `search`: the messages found, newest first, at most `limit`'
  }
}
