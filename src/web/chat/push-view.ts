/*
 * What the service worker shows for a push, and where a click on it leads. No DOM and no
 * worker globals, so the rules are the same in the worker and in a test.
 */

/** A push's payload as the service sends it (docs/push.md): the message that made it due. */
export interface PushMessage {
  type: 'message'
  room: string
  seq: number
  user: string
  /** The first 200 code points of the text. */
  text: string
  mentions?: string[]
}

/** What a notification carries, so that a click knows its room. */
export interface NotificationData {
  room?: string
  seq?: number
}

/** What the worker tells an open chat page after a click: show this room. */
export interface OpenRoomMessage { type: 'open-room', room: string }

export interface ShownNotification {
  title: string
  // `renotify` is not in every TypeScript DOM library yet.
  options: NotificationOptions & { renotify?: boolean, data: NotificationData }
}

function isPushMessage (value: unknown): value is PushMessage {
  const payload = value as Partial<PushMessage> | null
  return typeof payload === 'object' && payload !== null && payload.type === 'message' && typeof payload.room === 'string' &&
    typeof payload.user === 'string' && typeof payload.text === 'string' && typeof payload.seq === 'number'
}

/**
 * The notification of a push: `<user> in <room>` and the text, one per room (the tag), so a
 * room's newer message replaces its older one and still alerts (`renotify`). A payload the
 * page cannot read still shows something: a push with `userVisibleOnly` must.
 */
export function notificationOf (payload: unknown): ShownNotification {
  if (!isPushMessage(payload)) {
    return { title: 'New message', options: { body: 'Open the chat to read it.', tag: 'chat', data: {} } }
  }
  const { room, seq, user, text } = payload
  return {
    title: `${user} in ${room}`,
    options: { body: text, tag: `room:${room}`, renotify: true, data: { room, seq } }
  }
}

/** The chat page at `scope` (the worker's scope: the page's folder), opening `room` when given. */
export function roomUrl (scope: string, room?: string): string {
  const url = new URL(scope)
  url.search = ''
  url.hash = ''
  if (room !== undefined) url.searchParams.set('room', room)
  return url.href
}

/** Whether a window shows the chat page of this scope (and not another page under it, such as /admin/). */
export function isChatPage (windowUrl: string, scope: string): boolean {
  const page = new URL(windowUrl)
  const home = new URL(scope)
  return page.origin === home.origin && (page.pathname === home.pathname || page.pathname === `${home.pathname}index.html`)
}
