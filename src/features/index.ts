import type { ChatFeature } from './feature.ts'
import { directMessages } from './direct-messages/index.ts'
import { mentions } from './mentions/index.ts'
import { messageEdits } from './message-edits/index.ts'
import { moderation } from './moderation/index.ts'
import { presendHook } from './presend-hook/index.ts'
import { push } from './push/index.ts'
import { reactions } from './reactions/index.ts'
import { readState } from './read-state/index.ts'
import { replies } from './replies/index.ts'
import { reports } from './reports/index.ts'
import { roles } from './roles/index.ts'
import { search } from './search/index.ts'
import { slowMode } from './slow-mode/index.ts'
import { typing } from './typing/index.ts'
import { userData } from './user-data/index.ts'
import { wordFilter } from './word-filter/index.ts'

/**
 * Every chat feature of the service, in the order they are registered: a feature that builds on
 * another (mentions on read state) comes after it. Adding a feature is one line here.
 */
export const features: ChatFeature[] = [
  messageEdits,
  typing,
  readState,
  mentions,
  reactions,
  replies,
  // Before the features that add their part of a user's data (roles).
  userData,
  roles,
  // Before moderation, whose mute check on `message` then runs first: a muted user is told so.
  slowMode,
  // After every feature whose frames a mute refuses (message, react, typing): it wraps their handlers.
  moderation,
  reports,
  directMessages,
  search,
  // Text checks run in this order, after every composer (a reply's root is known): the word
  // filter, which waits for nothing, then the hook, which asks a service.
  wordFilter,
  presendHook,
  // After read state and user data, whose ports and sections it uses.
  push
]
