import type { ConnectionState, Message } from '../../client/index.ts'
import { element } from '../dom.ts'

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })

/** What the page does when the author asks to change one of its messages. */
export interface MessageActions {
  edit: (message: Message) => void
  remove: (message: Message) => void
}

/** A change of the user's own message on its way to the server. */
export type PendingChange = 'saving' | 'deleting'

function timeElement (iso: string, text: string, className?: string): HTMLTimeElement {
  const time = element('time', className, text)
  time.dateTime = iso
  time.title = new Date(iso).toLocaleString()
  return time
}

/**
 * One message as a list item: author, time and text, "edited" once edited, and a tombstone
 * once deleted. The author's own messages get Edit and Delete buttons (`actions`). `data-seq`
 * finds the item again, so a change replaces it in place.
 */
export function messageItem (message: Message, me: string | undefined, actions?: MessageActions, pending?: PendingChange): HTMLLIElement {
  const mine = message.user === me
  const item = element('li', mine ? 'message mine' : 'message')
  item.dataset.seq = String(message.seq)
  const meta = element('p', 'meta')
  meta.append(element('span', 'author', message.user), ' ', timeElement(message.time, timeFormat.format(new Date(message.time))))
  if (message.deleted !== true && message.editedAt !== undefined) meta.append(' ', timeElement(message.editedAt, 'edited', 'edited'))
  if (pending !== undefined) meta.append(' ', element('span', 'pending', pending === 'saving' ? 'saving…' : 'deleting…'))
  if (message.deleted === true) {
    item.classList.add('deleted')
    item.append(meta, element('p', 'text', 'message deleted'))
    return item
  }
  item.append(meta, element('p', 'text', message.text))
  if (mine && actions !== undefined && pending === undefined) {
    const bar = element('p', 'actions')
    bar.append(button('Edit', () => actions.edit(message)), button('Delete', () => actions.remove(message)))
    item.append(bar)
  }
  return item
}

function button (label: string, onClick: () => void, className = 'link'): HTMLButtonElement {
  const node = element('button', className, label)
  node.type = 'button'
  node.addEventListener('click', onClick)
  return node
}

/**
 * Turns a message item into its editor: a text field with Save and Cancel (Enter saves,
 * Escape cancels), focused. `save` gets the new text.
 */
export function openEditor (item: HTMLLIElement, message: Message, save: (text: string) => void, cancel: () => void, maxLength?: number): void {
  const form = element('form', 'edit-form')
  const id = `edit-${message.seq}`
  const label = element('label', 'visually-hidden', 'Edited text')
  label.htmlFor = id
  const input = element('input')
  input.id = id
  input.value = message.text
  input.required = true
  input.autocomplete = 'off'
  if (maxLength !== undefined) input.maxLength = maxLength
  input.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return
    event.preventDefault()
    cancel()
  })
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (input.value.trim() === '') return
    save(input.value)
  })
  const saveButton = element('button', undefined, 'Save')
  saveButton.type = 'submit'
  form.append(label, input, saveButton, button('Cancel', cancel, 'quiet'))
  item.querySelector('.text')?.replaceWith(form)
  item.querySelector('.actions')?.remove()
  input.focus()
  input.select()
}

/**
 * Asks in place before a delete: "Delete for everyone?" with Delete and Cancel, Cancel
 * focused so a stray Enter deletes nothing.
 */
export function confirmDelete (item: HTMLLIElement, confirm: () => void, cancel: () => void): void {
  const bar = element('p', 'actions confirm')
  const keep = button('Cancel', cancel, 'quiet')
  bar.append(element('span', undefined, 'Delete for everyone?'), button('Delete', confirm, 'danger'), keep)
  bar.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return
    event.preventDefault()
    cancel()
  })
  item.querySelector('.actions')?.replaceWith(bar)
  keep.focus()
}

/**
 * Puts a message's item in the list in seq order, replacing one with the same seq. Keeps
 * the view at the bottom when it was there, and still when older messages go in above.
 */
export function placeMessage (list: HTMLOListElement, scroller: HTMLElement, item: HTMLLIElement): void {
  const seq = Number(item.dataset.seq)
  const wasAtBottom = atBottom(scroller)
  const heightBefore = scroller.scrollHeight
  const existing = list.querySelector<HTMLLIElement>(`li[data-seq="${seq}"]`)
  if (existing !== null) {
    existing.replaceWith(item)
    return
  }
  const last = list.lastElementChild as HTMLLIElement | null
  if (last === null || Number(last.dataset.seq) < seq) {
    list.append(item)
    if (wasAtBottom) scroller.scrollTop = scroller.scrollHeight
    return
  }
  const next = [...list.children].find((child) => Number((child as HTMLElement).dataset.seq) > seq)
  list.insertBefore(item, next ?? null)
  if (wasAtBottom) scroller.scrollTop = scroller.scrollHeight
  else scroller.scrollTop += scroller.scrollHeight - heightBefore
}

export function renderMessages (list: HTMLOListElement, scroller: HTMLElement, items: HTMLLIElement[]): void {
  list.replaceChildren(...items)
  scroller.scrollTop = scroller.scrollHeight
}

/** The view shows the end of the list (with some slack): the newest message is in sight. */
export function atBottom (scroller: HTMLElement): boolean {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40
}

export function renderOnline (list: HTMLUListElement, members: Iterable<string>, me: string | undefined): void {
  const sorted = [...members].sort((a, b) => a.localeCompare(b))
  list.replaceChildren(...sorted.map((user) => {
    const item = element('li', user === me ? 'me' : undefined, user)
    if (user === me) item.append(' ', element('span', 'hint', '(you)'))
    return item
  }))
}

/**
 * The room list: one button per room, the active one marked, a badge with the unread count.
 * Buttons are kept and updated rather than made again, so focus stays where it is.
 */
export function renderRooms (list: HTMLUListElement, rooms: { id: string, unread: number }[], active: string | undefined, select: (room: string) => void): void {
  const existing = new Map<string, HTMLLIElement>()
  for (const item of list.querySelectorAll<HTMLLIElement>('li[data-room]')) existing.set(item.dataset.room!, item)
  const items = rooms.map(({ id, unread }) => {
    let item = existing.get(id)
    if (item === undefined) {
      item = element('li')
      item.dataset.room = id
      const node = button(id, () => select(id), 'room')
      node.append(element('span', 'unread'))
      item.append(node)
    }
    const node = item.querySelector('button')!
    if (id === active) node.setAttribute('aria-current', 'true')
    else node.removeAttribute('aria-current')
    // The badge is for the eye; the name says it in words.
    if (unread > 0) node.setAttribute('aria-label', `${id}, ${unread} unread`)
    else node.removeAttribute('aria-label')
    const badge = node.querySelector<HTMLElement>('.unread')!
    badge.textContent = unread > 99 ? '99+' : String(unread)
    badge.hidden = unread === 0
    badge.setAttribute('aria-hidden', 'true')
    return item
  })
  // Only when the rooms changed: moving the items would take the focus away.
  const unchanged = items.length === list.children.length && items.every((item, index) => list.children[index] === item)
  if (!unchanged) list.replaceChildren(...items)
}

/** "alice is typing…", "alice and bob are typing…", "4 people are typing…"; empty for nobody. */
export function typingText (users: string[]): string {
  if (users.length === 0) return ''
  if (users.length === 1) return `${users[0]} is typing…`
  if (users.length > 3) return `${users.length} people are typing…`
  return `${users.slice(0, -1).join(', ')} and ${users.at(-1)} are typing…`
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
