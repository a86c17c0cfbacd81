import { type ChatClient, fetchPushKey, type NotifyLevel } from '../../client/index.ts'
import type { OpenRoomMessage } from './push-view.ts'

/*
 * The chat page's notifications: the Enable notifications button (a service worker, a Web
 * Push subscription sent with push_subscribe), the per-room level (notify), and the worker's
 * request to show a room after a click on a notification. Offered only when the server has
 * Web Push (GET push/key) and the browser has service workers and the Push API.
 */

export interface PushControlsOptions {
  section: HTMLElement
  toggle: HTMLButtonElement
  status: HTMLElement
  levelField: HTMLElement
  level: HTMLSelectElement
  client: () => ChatClient | undefined
  user: () => string | undefined
  notice: (text: string) => void
  /** Shows a room the user asked for from a notification. */
  openRoom: (room: string) => void
}

type State = 'unsupported' | 'blocked' | 'off' | 'busy' | 'on'

const LEVELS: readonly NotifyLevel[] = ['all', 'mentions', 'none']
const TEXTS: Record<State, string> = {
  unsupported: 'This browser cannot receive notifications from this page: that needs service workers and the Push API, which browsers offer over https or on localhost (on iPhone and iPad, once the page is added to the home screen).',
  blocked: 'Notifications are blocked for this site: allow them in the browser\'s site settings, then reload.',
  off: 'Be notified of new messages in your rooms while you are not in them, even with this page closed.',
  busy: 'One moment…',
  on: 'Notifications are on in this browser.'
}

function supported (): boolean {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window
}

/** The key's bytes: every browser takes them, where not all take the base64url text. */
function keyBytes (key: string): Uint8Array<ArrayBuffer> {
  const base64 = key.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(key.length / 4) * 4, '=')
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0))
}

function sameKey (buffer: ArrayBuffer | null | undefined, key: Uint8Array): boolean {
  // Unknown: keep the subscription, the server refuses it if it is not its own.
  if (buffer === null || buffer === undefined) return true
  const bytes = new Uint8Array(buffer)
  return bytes.length === key.length && bytes.every((byte, i) => byte === key[i])
}

function stored (name: string): string | undefined {
  try {
    return localStorage.getItem(name) ?? undefined
  } catch {
    return undefined
  }
}

function store (name: string, value: string | undefined): void {
  try {
    if (value === undefined) localStorage.removeItem(name)
    else localStorage.setItem(name, value)
  } catch {}
}

export class PushControls {
  private key: string | undefined
  private state: State = 'off'
  /** The endpoint this browser registered for the signed-in user, in this session. */
  private registered: string | undefined
  private room: string | undefined

  constructor (private readonly options: PushControlsOptions) {
    options.toggle.addEventListener('click', () => { void (this.state === 'on' ? this.disable() : this.enable()) })
    options.level.addEventListener('change', () => this.setLevel())
    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.addEventListener('message', (event: MessageEvent<OpenRoomMessage | null>) => {
        if (event.data?.type === 'open-room' && typeof event.data.room === 'string') options.openRoom(event.data.room)
      })
    }
  }

  /** Asks the server for its key; without one the controls stay hidden. */
  async load (): Promise<void> {
    try {
      this.key = await fetchPushKey(new URL('./', location.href))
    } catch {
      this.key = undefined
    }
    if (this.key === undefined) return
    this.state = !supported() ? 'unsupported' : Notification.permission === 'denied' ? 'blocked' : 'off'
    this.options.section.hidden = false
    this.render()
    this.showRoom(this.room)
    // Signed in before the key came (an app's page connects at once): catch up.
    if (this.options.client()?.state === 'open') await this.connected()
  }

  /**
   * A connection opened: a user who turned notifications on in this browser gets them again
   * after signing in (the endpoint belongs to whoever registered it last).
   */
  async connected (): Promise<void> {
    // The user is known now (JWT mode): show its level of the room.
    this.showRoom(this.room)
    const user = this.options.user()
    if (this.registered !== undefined || this.key === undefined || this.state !== 'off' || user === undefined) return
    if (stored(`chat.push.${user}`) !== 'on' || Notification.permission !== 'granted') return
    await this.enable()
  }

  /** Before the connection closes on sign-out: this browser stops receiving the user's notifications. */
  signOut (client: ChatClient): void {
    // Sent before the close, on the same socket: the server handles it though the reply never comes.
    if (this.registered !== undefined) client.unsubscribePush(this.registered).catch(() => {})
    this.registered = undefined
    if (this.state === 'on') this.state = 'off'
    this.render()
  }

  /** The room shown: its notification level, when the server notifies. */
  showRoom (room: string | undefined): void {
    this.room = room
    const { levelField, level } = this.options
    levelField.hidden = room === undefined || this.key === undefined
    const saved = room === undefined ? undefined : stored(this.levelKey(room))
    level.value = LEVELS.find((candidate) => candidate === saved) ?? 'all'
  }

  private levelKey (room: string): string {
    return `chat.notify.${this.options.user() ?? ''}.${room}`
  }

  private setLevel (): void {
    const client = this.options.client()
    const room = this.room
    const level = LEVELS.find((candidate) => candidate === this.options.level.value)
    if (client === undefined || room === undefined || level === undefined) return
    client.notify(room, level).then(() => store(this.levelKey(room), level), (err: Error) => {
      if (this.options.client() !== client) return
      this.options.notice(`Could not change the notifications of ${room}: ${err.message}`)
      if (this.room === room) this.showRoom(room)
    })
  }

  private async enable (): Promise<void> {
    const client = this.options.client()
    const user = this.options.user()
    if (client === undefined || user === undefined || this.key === undefined) return
    this.show('busy')
    try {
      if (await Notification.requestPermission() !== 'granted') {
        this.show(Notification.permission === 'denied' ? 'blocked' : 'off')
        return
      }
      await navigator.serviceWorker.register('sw.js')
      const registration = await navigator.serviceWorker.ready
      const key = keyBytes(this.key)
      let subscription = await registration.pushManager.getSubscription()
      // One made with another key (the server's keys changed) can no longer be pushed to.
      if (subscription !== null && !sameKey(subscription.options?.applicationServerKey, key)) {
        await subscription.unsubscribe()
        subscription = null
      }
      subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key })
      await client.subscribePush(subscription)
      if (this.options.client() !== client) return
      this.registered = subscription.endpoint
      store(`chat.push.${user}`, 'on')
      this.show('on')
    } catch (err) {
      if (this.options.client() !== client) return
      this.show('off', `Could not turn notifications on: ${(err as Error).message}`)
    }
  }

  private async disable (): Promise<void> {
    const client = this.options.client()
    const user = this.options.user()
    if (client === undefined || user === undefined) return
    this.show('busy')
    try {
      const registration = await navigator.serviceWorker.getRegistration()
      const subscription = await registration?.pushManager.getSubscription()
      const endpoint = subscription?.endpoint ?? this.registered
      if (endpoint !== undefined) await client.unsubscribePush(endpoint)
      await subscription?.unsubscribe()
      this.registered = undefined
      store(`chat.push.${user}`, undefined)
      this.show('off')
    } catch (err) {
      this.show('on', `Could not turn notifications off: ${(err as Error).message}`)
    }
  }

  private show (state: State, problem?: string): void {
    this.state = state
    this.render(problem)
  }

  private render (problem?: string): void {
    const { toggle, status } = this.options
    toggle.textContent = this.state === 'on' ? 'Turn off notifications' : 'Enable notifications'
    toggle.classList.toggle('quiet', this.state === 'on')
    toggle.disabled = this.state === 'unsupported' || this.state === 'blocked' || this.state === 'busy'
    status.textContent = problem ?? TEXTS[this.state]
  }
}
