import type { Message, Reaction } from '../../client/index.ts'
import { element } from '../dom.ts'

/** The picker's short list, each with the word a pointer's tooltip shows. */
export const COMMON_EMOJIS: readonly (readonly [emoji: string, name: string])[] = [
  ['👍', 'thumbs up'], ['❤️', 'heart'], ['😂', 'laughing'], ['🎉', 'party'],
  ['😮', 'surprised'], ['😢', 'sad'], ['👀', 'looking'], ['✅', 'done']
]

/** One emoji's reactions as the page shows them: `mine` when the user is among them. */
export interface ShownReaction {
  emoji: string
  count: number
  users: string[]
  mine: boolean
}

/**
 * The server's reactions with the user's own changes still on their way laid over them, so a
 * click shows at once: the server sends the first change of a message at once but gathers
 * the next ones of the same second into one `updated`. `users` lists only the first 25, so a
 * user who reacted after them shows as not among them.
 */
export function shownReactions (reactions: readonly Reaction[] | undefined, me: string | undefined,
  wanted: ReadonlyMap<string, boolean>): ShownReaction[] {
  const shown = (reactions ?? []).map(({ emoji, count, users }) => ({ emoji, count, users, mine: me !== undefined && users.includes(me) }))
  for (const [emoji, active] of wanted) {
    const entry = shown.find((reaction) => reaction.emoji === emoji)
    if (entry === undefined) {
      if (active && me !== undefined) shown.push({ emoji, count: 1, users: [me], mine: true })
    } else if (entry.mine !== active) {
      entry.count += active ? 1 : -1
      entry.mine = active
      entry.users = active ? [...entry.users, me!] : entry.users.filter((user) => user !== me)
    }
  }
  return shown.filter((reaction) => reaction.count > 0)
}

/** How long a change stays laid over the server's state after its ack: past the server's 1 s gathering. */
export const SETTLE_MS = 1500

/**
 * The user's reaction changes on their way, by room, seq and emoji. One goes when an `updated`
 * shows it, when it fails, or SETTLE_MS after its ack (whatever the server says then stands,
 * a change made on another device included).
 */
export class PendingReactions {
  private readonly wanted = new Map<string, { active: boolean, id: number }>()
  private lastId = 0

  /** Records a change; the returned function drops it, unless a later change of the same emoji replaced it. */
  want (room: string, seq: number, emoji: string, active: boolean): () => boolean {
    const key = `${room} ${seq} ${emoji}`
    const id = ++this.lastId
    this.wanted.set(key, { active, id })
    return () => this.wanted.get(key)?.id === id && this.wanted.delete(key)
  }

  forMessage (room: string, seq: number): Map<string, boolean> {
    const prefix = `${room} ${seq} `
    const found = new Map<string, boolean>()
    for (const [key, { active }] of this.wanted) if (key.startsWith(prefix)) found.set(key.slice(prefix.length), active)
    return found
  }

  /** Drops the changes of a message that its state from the server now shows. */
  settle (message: Message, me: string | undefined): void {
    for (const [emoji, active] of this.forMessage(message.room, message.seq)) {
      const mine = message.reactions?.some((reaction) => reaction.emoji === emoji && me !== undefined && reaction.users.includes(me)) ?? false
      if (mine === active) this.wanted.delete(`${message.room} ${message.seq} ${emoji}`)
    }
  }

  dropRoom (room: string): void {
    for (const key of this.wanted.keys()) if (key.startsWith(`${room} `)) this.wanted.delete(key)
  }

  clear (): void {
    this.wanted.clear()
  }
}

function button (text: string, focusKey: string, onClick: () => void, className: string): HTMLButtonElement {
  const node = element('button', className, text)
  node.type = 'button'
  node.dataset.focus = focusKey
  node.addEventListener('click', onClick)
  return node
}

/**
 * The reactions under a message: a toggle per emoji, `👍 2`, pressed when the user is among
 * those who reacted; the names of who did in its tooltip. Undefined when there are none.
 */
export function reactionToggles (reactions: ShownReaction[], toggle: (emoji: string, active: boolean) => void): HTMLElement | undefined {
  if (reactions.length === 0) return undefined
  const group = element('div', 'reactions')
  group.setAttribute('role', 'group')
  group.setAttribute('aria-label', 'Reactions')
  for (const { emoji, count, users, mine } of reactions) {
    const node = button(`${emoji} ${count}`, `react:${emoji}`, () => toggle(emoji, !mine), 'reaction')
    node.setAttribute('aria-pressed', String(mine))
    const more = count - users.length
    node.title = more > 0 ? `${users.join(', ')} and ${more} more` : users.join(', ')
    group.append(node)
  }
  return group
}

/**
 * The "Add reaction" button and the short list it opens (a disclosure: Escape closes it and
 * puts the focus back on the button). Choosing closes it too; `pick` gets the emoji.
 */
export function reactionPicker (pickerId: string, pick: (emoji: string) => void): { opener: HTMLButtonElement, picker: HTMLElement } {
  const picker = element('div', 'picker')
  picker.id = pickerId
  picker.hidden = true
  picker.setAttribute('role', 'group')
  picker.setAttribute('aria-label', 'Pick a reaction')
  const opener = button('Add reaction', 'add-reaction', () => setPickerOpen(opener, picker, picker.hidden), 'link')
  opener.setAttribute('aria-expanded', 'false')
  opener.setAttribute('aria-controls', pickerId)
  for (const [emoji, name] of COMMON_EMOJIS) {
    const choice = button(emoji, `pick:${emoji}`, () => {
      setPickerOpen(opener, picker, false)
      opener.focus()
      pick(emoji)
    }, 'emoji')
    choice.title = name
    picker.append(choice)
  }
  picker.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return
    event.preventDefault()
    setPickerOpen(opener, picker, false)
    opener.focus()
  })
  return { opener, picker }
}

/** Opens or closes a picker; opening puts the focus on its first emoji. */
export function setPickerOpen (opener: HTMLElement, picker: HTMLElement, open: boolean, focus = true): void {
  picker.hidden = !open
  opener.setAttribute('aria-expanded', String(open))
  if (open && focus) picker.querySelector('button')?.focus()
}
