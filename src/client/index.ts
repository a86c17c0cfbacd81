/**
 * The chat service's client: `import { ChatClient } from 'fastify-chat/client'`.
 * It runs in browsers and in Node (pass `WebSocket` from `ws` in Node 20) and carries no
 * server code: frame types come from the server's schemas as types only.
 */
export { ChatClient } from './chat-client.ts'
export { ChatError, type ChatErrorCode } from './errors.ts'
export type {
  ChatClientOptions, ChatEvents, ConnectionState, DisconnectInfo, HistoryOptions, SendOptions, TokenSource,
  WebSocketConstructor, WebSocketLike
} from './types.ts'
export type { Message } from '../schemas/common.ts'
export type {
  AckFrame, JoinedFrame, KickedFrame, LeftFrame, PresenceFrame, RoomDeletedFrame, ServerFrame, WelcomeFrame
} from '../schemas/frames.ts'
export type { UpdatedFrame } from '../schemas/message-edits.ts'
export type { ReadOutFrame, RoomUnread, UserRead } from '../schemas/read-state.ts'
export type { TypingOutFrame } from '../schemas/typing.ts'
