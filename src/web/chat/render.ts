import type { ConnectionState, Message } from '../../client/index.ts'
import { element } from '../dom.ts'
import { textWithMentions } from './mentions.ts'
import { reactionPicker, reactionToggles, setPickerOpen, type ShownReaction } from './reactions.ts'

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })

/** What the page does when the user acts on a message. */
export interface MessageActions {
  edit: (message: Message) => void
  remove: (message: Message) => void
  /** Opens the thread the message is in: its own, or its root's for a reply. */
  openThread: (message: Message) => void
  react: (message: Message, emoji: string, active: boolean) => void
  /** Sends the message to the moderators' queue. */
  report: (message: Message) => void
  /** A moderator's action on the message's author. */
  moderate: (message: Message, action: 'mute' | 'kick' | 'ban') => void
}

/** A change of the user's own message on its way to the server. */
export type PendingChange = 'saving' | 'deleting'

/** How one message is shown. */
export interface MessageView {
  me: string | undefined
  actions: MessageActions
  reactions: ShownReaction[]
  /**
   * The room's list, or the thread panel: there the panel's own field replies, and edits and
   * deletes are left to the room's list (one editor at a time).
   */
  place: 'room' | 'thread'
  pending?: PendingChange
  /** For a reply in the room's list: the author of its root, when the page holds the root. */
  replyingTo?: string
  /** The user moderates the room: Delete on every message, Mute, Kick and Ban on others'. */
  moderator?: boolean
}

function timeElement (iso: string, text: string, className?: string): HTMLTimeElement {
  const time = element('time', className, text)
  time.dateTime = iso
  time.title = new Date(iso).toLocaleString()
  return time
}

/**
 * One message as a list item: author, time and text (mentions marked), "edited" once edited,
 * and a tombstone once deleted; its reactions as toggles; Reply (which opens the thread), the
 * count of replies of a root, Add reaction, and Edit and Delete on the author's own. `data-seq`
 * finds the item again, so a change replaces it in place; `data-focus` names each control,
 * so the focus stays on it across the replacement.
 */
export function messageItem (message: Message, view: MessageView): HTMLLIElement {
  const { me, actions, pending, place } = view
  const mine = message.user === me
  const item = element('li', mine ? 'message mine' : 'message')
  item.dataset.seq = String(message.seq)
  const meta = element('p', 'meta')
  meta.append(element('span', 'author', message.user), ' ', timeElement(message.time, timeFormat.format(new Date(message.time))))
  if (message.replyTo !== undefined && place === 'room') {
    item.classList.add('reply')
    meta.append(' ', element('span', 'in-thread', view.replyingTo === undefined ? '↪ in a thread' : `↪ replying to ${view.replyingTo}`))
  }
  if (message.deleted !== true && message.editedAt !== undefined) meta.append(' ', timeElement(message.editedAt, 'edited', 'edited'))
  if (pending !== undefined) meta.append(' ', element('span', 'pending', pending === 'saving' ? 'saving…' : 'deleting…'))
  if (message.deleted === true) {
    item.classList.add('deleted')
    item.append(meta, element('p', 'text', 'message deleted'))
    return item
  }
  const text = element('p', 'text')
  text.append(...textWithMentions(message.text, message.mentions, me))
  item.append(meta, text)
  const toggles = reactionToggles(view.reactions, (emoji, active) => actions.react(message, emoji, active))
  if (toggles !== undefined) item.append(toggles)
  if (pending !== undefined) return item
  const bar = element('p', 'actions')
  const replies = message.thread?.replies ?? 0
  if (place === 'room') {
    if (replies > 0) bar.append(button(replies === 1 ? '1 reply' : `${replies} replies`, () => actions.openThread(message), 'link', 'thread'))
    bar.append(button('Reply', () => actions.openThread(message), 'link', 'reply'))
  }
  const { opener, picker } = reactionPicker(`picker-${place}-${message.seq}`, (emoji) => {
    const current = view.reactions.find((reaction) => reaction.emoji === emoji)
    if (current?.mine !== true) actions.react(message, emoji, true)
  })
  bar.append(opener)
  if (mine && place === 'room') {
    bar.append(button('Edit', () => actions.edit(message), 'link', 'edit'), button('Delete', () => actions.remove(message), 'link', 'delete'))
  } else if (place === 'room' && message.deleted !== true && message.user !== me) {
    bar.append(button('Report', () => actions.report(message), 'link', 'report'))
    if (view.moderator === true) {
      bar.append(
        button('Delete', () => actions.remove(message), 'link', 'delete'),
        labelled(button('Mute', () => actions.moderate(message, 'mute'), 'link', 'mute'), `Mute ${message.user} for 10 minutes`),
        labelled(button('Kick', () => actions.moderate(message, 'kick'), 'link', 'kick'), `Kick ${message.user} from the room`),
        labelled(button('Ban', () => actions.moderate(message, 'ban'), 'link danger', 'ban'), `Ban ${message.user} from the room for a day`)
      )
    }
  }
  item.append(bar, picker)
  return item
}

/** A button whose accessible name says more than its word (who it acts on, for how long). */
function labelled (node: HTMLButtonElement, name: string): HTMLButtonElement {
  node.setAttribute('aria-label', name)
  node.title = name
  return node
}

function button (label: string, onClick: () => void, className = 'link', focusKey?: string): HTMLButtonElement {
  const node = element('button', className, label)
  node.type = 'button'
  if (focusKey !== undefined) node.dataset.focus = focusKey
  node.addEventListener('click', onClick)
  return node
}

/**
 * What the user had in an item that is being replaced, put back in its successor: an open
 * reaction picker, and the focus on the control with the same `data-focus` (or, when that
 * control is gone, such as the toggle of a reaction just removed, on Add reaction).
 */
function carryOver (from: HTMLElement, to: HTMLElement, focused: Element | null): void {
  const opener = to.querySelector<HTMLElement>('[data-focus="add-reaction"]')
  const picker = to.querySelector<HTMLElement>('.picker')
  if (from.querySelector('.picker:not([hidden])') !== null && opener !== null && picker !== null) setPickerOpen(opener, picker, true, false)
  if (!(focused instanceof HTMLElement) || !from.contains(focused) || focused.dataset.focus === undefined) return
  const key = focused.dataset.focus
  const same = [...to.querySelectorAll<HTMLElement>('[data-focus]')].find((node) => node.dataset.focus === key)
  ;(same ?? opener)?.focus()
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
  item.querySelector('.picker')?.remove()
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
  item.querySelector('.picker')?.remove()
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
    const focused = document.activeElement
    existing.replaceWith(item)
    carryOver(existing, item, focused)
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

/**
 * Who is online in the room; for an owner or a moderator (`moderate` given), Mute, Kick and Ban
 * beside each other member.
 */
export function renderOnline (list: HTMLUListElement, members: Iterable<string>, me: string | undefined,
  moderate?: (user: string, action: 'mute' | 'kick' | 'ban') => void): void {
  const sorted = [...members].sort((a, b) => a.localeCompare(b))
  list.replaceChildren(...sorted.map((user) => {
    const item = element('li', user === me ? 'me' : undefined, user)
    if (user === me) item.append(' ', element('span', 'hint', '(you)'))
    else if (moderate !== undefined) {
      item.append(' ',
        labelled(button('Mute', () => moderate(user, 'mute'), 'link'), `Mute ${user} for 10 minutes`),
        labelled(button('Kick', () => moderate(user, 'kick'), 'link'), `Kick ${user} from the room`),
        labelled(button('Ban', () => moderate(user, 'ban'), 'link danger'), `Ban ${user} from the room for a day`))
    }
    return item
  }))
}

/**
 * The room list: one button per room, the active one marked, badges with the unread count and
 * the count of unread messages that mention the user. Buttons are kept and updated rather than
 * made again, so focus stays where it is.
 */
export function renderRooms (list: HTMLUListElement, rooms: { id: string, label?: string, unread: number, mentions: number }[], active: string | undefined, select: (room: string) => void): void {
  const existing = new Map<string, HTMLLIElement>()
  for (const item of list.querySelectorAll<HTMLLIElement>('li[data-room]')) existing.set(item.dataset.room!, item)
  const items = rooms.map(({ id, label = id, unread, mentions }) => {
    let item = existing.get(id)
    if (item === undefined) {
      item = element('li')
      item.dataset.room = id
      const node = button(label, () => select(id), 'room')
      node.append(element('span', 'badges'))
      node.lastElementChild!.append(element('span', 'unread'), element('span', 'mentions'))
      item.append(node)
    }
    const node = item.querySelector('button')!
    if (id === active) node.setAttribute('aria-current', 'true')
    else node.removeAttribute('aria-current')
    // The badges are for the eye; the name says it in words.
    const counts = [unread > 0 ? `${unread} unread` : '', mentions === 1 ? '1 mention' : mentions > 1 ? `${mentions} mentions` : '']
      .filter((count) => count !== '')
    if (counts.length > 0) node.setAttribute('aria-label', [label, ...counts].join(', '))
    else node.removeAttribute('aria-label')
    badge(node.querySelector<HTMLElement>('.unread')!, unread, '')
    badge(node.querySelector<HTMLElement>('.mentions')!, mentions, '@')
    return item
  })
  // Only when the rooms changed: moving the items would take the focus away.
  const unchanged = items.length === list.children.length && items.every((item, index) => list.children[index] === item)
  if (!unchanged) list.replaceChildren(...items)
}

/**
 * A count for the eye, drawn by the style sheet from `data-count`: as text it would be part of
 * the button's visible label, which must then be found word for word in its name ("dev 3 @2"
 * in "dev, 3 unread, 2 mentions"), and the name is what a screen reader and voice control use.
 */
function badge (node: HTMLElement, count: number, prefix: string): void {
  node.dataset.count = prefix + (count > 99 ? '99+' : String(count))
  node.hidden = count === 0
  node.setAttribute('aria-hidden', 'true')
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
