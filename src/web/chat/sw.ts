import { isChatPage, type NotificationData, notificationOf, type OpenRoomMessage, roomUrl } from './push-view.ts'

/*
 * The chat page's service worker, served as sw.js beside the page so that its scope is the
 * page's folder. It shows the service's Web Push notifications and, on a click, brings the
 * chat page to the room: an open page is focused and told which room, else one is opened.
 */

// The worker's globals, declared here: TypeScript's webworker library cannot share a program with the DOM's.
interface ExtendableEvent extends Event {
  waitUntil: (promise: Promise<unknown>) => void
}
interface PushEvent extends ExtendableEvent {
  readonly data: { json: () => unknown } | null
}
interface NotificationEvent extends ExtendableEvent {
  readonly notification: Notification
}
interface WindowClient {
  readonly url: string
  focus: () => Promise<WindowClient>
  postMessage: (message: unknown) => void
}
interface WorkerScope {
  readonly registration: ServiceWorkerRegistration
  readonly clients: {
    matchAll: (options: { type: 'window', includeUncontrolled: boolean }) => Promise<WindowClient[]>
    openWindow: (url: string) => Promise<WindowClient | null>
    claim: () => Promise<void>
  }
  skipWaiting: () => Promise<void>
  addEventListener: ((type: 'push', listener: (event: PushEvent) => void) => void) &
  ((type: 'notificationclick', listener: (event: NotificationEvent) => void) => void) &
  ((type: 'install' | 'activate', listener: (event: ExtendableEvent) => void) => void)
}

const worker = globalThis as unknown as WorkerScope

// A new sw.js takes over at once: it holds no state an older one could need.
worker.addEventListener('install', (event) => event.waitUntil(worker.skipWaiting()))
worker.addEventListener('activate', (event) => event.waitUntil(worker.clients.claim()))

worker.addEventListener('push', (event) => {
  let payload: unknown
  try {
    payload = event.data?.json()
  } catch {
    payload = undefined
  }
  const { title, options } = notificationOf(payload)
  event.waitUntil(worker.registration.showNotification(title, options))
})

worker.addEventListener('notificationclick', (event) => {
  event.notification.close()
  const { room } = (event.notification.data ?? {}) as NotificationData
  event.waitUntil(openRoom(room))
})

async function openRoom (room: string | undefined): Promise<unknown> {
  const scope = worker.registration.scope
  const windows = await worker.clients.matchAll({ type: 'window', includeUncontrolled: true })
  const page = windows.find((candidate) => isChatPage(candidate.url, scope))
  if (page === undefined) return await worker.clients.openWindow(roomUrl(scope, room))
  if (room !== undefined) page.postMessage({ type: 'open-room', room } satisfies OpenRoomMessage)
  return await page.focus()
}
