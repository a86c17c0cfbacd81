/**
 * The chat service's client: `import { ChatClient } from 'fastify-chat/client'`.
 * It runs in browsers and in Node (pass `WebSocket` from `ws` in Node 20) and carries no
 * server code: its frame types are generated from the server's schemas (protocol.ts).
 */
export { ChatClient } from './chat-client.ts'
export { ChatError, type ChatErrorCode } from './errors.ts'
export { type FetchLike, fetchPushKey, type PushSubscriptionInput } from './push.ts'
export type {
  ChatClientOptions, ChatEvents, ConnectionState, DisconnectInfo, HistoryOptions, MessageAck, NotifyLevel, PushSubscriptionData, Reaction,
  RoomAck, SendOptions, ThreadSummary, TokenSource, WebSocketConstructor, WebSocketLike
} from './types.ts'
export type * from './protocol.ts'
