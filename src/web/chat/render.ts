import type { ConnectionState, Message } from '../../client/index.ts'

/** The element with this id; the page's HTML has it, so a missing one is a bug worth a loud error. */
export function byId<T extends HTMLElement = HTMLElement> (id: string): T {
  const element = document.getElementById(id)
  if (element === null) throw new Error(`#${id} is missing from the page`)
  return element as T
}

function element<K extends keyof HTMLElementTagNameMap> (tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  if (className !== undefined) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })

/**
 * One message as a list item: author, time and text. `data-seq` finds it again, so an
 * edited or deleted message can be replaced in place.
 */
export function messageItem (message: Message, me: string | undefined): HTMLLIElement {
  const item = element('li', message.user === me ? 'message mine' : 'message')
  item.dataset.seq = String(message.seq)
  const meta = element('p', 'meta')
  meta.append(element('span', 'author', message.user), ' ')
  const time = element('time', undefined, timeFormat.format(new Date(message.time)))
  time.dateTime = message.time
  time.title = new Date(message.time).toLocaleString()
  meta.append(time)
  item.append(meta, element('p', 'text', message.text))
  return item
}

/**
 * Puts a message's item in the list in seq order, replacing one with the same seq. Keeps
 * the view at the bottom when it was there, and still when older messages go in above.
 */
export function placeMessage (list: HTMLOListElement, scroller: HTMLElement, item: HTMLLIElement): void {
  const seq = Number(item.dataset.seq)
  const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40
  const heightBefore = scroller.scrollHeight
  const existing = list.querySelector<HTMLLIElement>(`li[data-seq="${seq}"]`)
  if (existing !== null) {
    existing.replaceWith(item)
    return
  }
  const last = list.lastElementChild as HTMLLIElement | null
  if (last === null || Number(last.dataset.seq) < seq) {
    list.append(item)
    if (atBottom) scroller.scrollTop = scroller.scrollHeight
    return
  }
  const next = [...list.children].find((child) => Number((child as HTMLElement).dataset.seq) > seq)
  list.insertBefore(item, next ?? null)
  if (atBottom) scroller.scrollTop = scroller.scrollHeight
  else scroller.scrollTop += scroller.scrollHeight - heightBefore
}

export function renderMessages (list: HTMLOListElement, scroller: HTMLElement, messages: Message[], me: string | undefined): void {
  list.replaceChildren(...messages.map((message) => messageItem(message, me)))
  scroller.scrollTop = scroller.scrollHeight
}

export function renderOnline (list: HTMLUListElement, members: Iterable<string>, me: string | undefined): void {
  const sorted = [...members].sort((a, b) => a.localeCompare(b))
  list.replaceChildren(...sorted.map((user) => {
    const item = element('li', user === me ? 'me' : undefined, user)
    if (user === me) item.append(' ', element('span', 'hint', '(you)'))
    return item
  }))
}

/** The room list: one button per room, the active one marked; `unread` badges come later. */
export function renderRooms (list: HTMLUListElement, rooms: string[], active: string | undefined, select: (room: string) => void): void {
  list.replaceChildren(...rooms.map((room) => {
    const button = element('button', 'room', room)
    button.type = 'button'
    if (room === active) button.setAttribute('aria-current', 'true')
    button.addEventListener('click', () => select(room))
    const unread = element('span', 'unread')
    unread.hidden = true
    button.append(unread)
    const item = element('li')
    item.append(button)
    return item
  }))
}

const STATE_TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Not connected'
}

export function renderConnection (status: HTMLElement, state: ConnectionState, user: string | undefined, problem?: string): void {
  status.dataset.state = state
  const text = state === 'open' && user !== undefined ? `Connected as ${user}` : STATE_TEXT[state]
  status.textContent = problem === undefined ? text : `${text} ${problem}`
}
