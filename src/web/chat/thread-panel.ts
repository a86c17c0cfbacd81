import type { ChatClient, Message } from '../../client/index.ts'
import { byId } from '../dom.ts'
import { placeMessage } from './render.ts'
import { PAGE_SIZE } from './room-model.ts'

/** What the panel needs of the page. */
export interface ThreadHost {
  client: () => ChatClient | undefined
  /** A message's list item as the panel shows it. */
  itemFor: (message: Message) => HTMLLIElement
  /** The message as the room's list holds it, if it does. */
  held: (room: string, seq: number) => Message | undefined
  /** Sends a reply as the page sends messages: counted while waiting, its text put back in `field` if refused. */
  send: (room: string, text: string, replyTo: number, field: HTMLInputElement) => void
  typing: (room: string, active: boolean) => void
  notice: (text: string) => void
  /** The panel opened, or closed (`byUser` when the user closed it: the focus goes back to the room's list). */
  toggled: (open: boolean, byUser: boolean) => void
}

/**
 * The thread panel, a complementary landmark named "Thread": a root and its replies, loaded
 * with `chat.thread` a page at a time and kept live from `message` events (replies carry
 * `replyTo`) and `updated` ones (the root's summary, edits, deletes, reactions), with its own
 * field to reply. Replies show in the room's list too, marked as such.
 */
export class ThreadPanel {
  room: string | undefined
  root: number | undefined
  private rootMessage: Message | undefined
  private readonly replies = new Map<number, Message>()
  private complete = false
  /** Bumped on every open and close, so an answer for a thread no longer shown is dropped. */
  private generation = 0
  private readonly host: ThreadHost
  private readonly ui = {
    panel: byId('thread'),
    close: byId<HTMLButtonElement>('close-thread'),
    scroller: byId('thread-scroller'),
    rootList: byId<HTMLOListElement>('thread-root'),
    count: byId('thread-count'),
    older: byId<HTMLButtonElement>('older-replies'),
    replies: byId<HTMLOListElement>('replies'),
    composer: byId<HTMLFormElement>('reply-composer'),
    field: byId<HTMLInputElement>('reply')
  }

  constructor (host: ThreadHost) {
    this.host = host
    const { ui } = this
    ui.close.addEventListener('click', () => this.close(true))
    ui.panel.addEventListener('keydown', (event) => {
      // Pickers and editors inside close themselves first.
      if (event.key !== 'Escape' || event.defaultPrevented) return
      event.preventDefault()
      this.close(true)
    })
    ui.older.addEventListener('click', () => { void this.loadOlder() })
    ui.composer.addEventListener('submit', (event) => {
      event.preventDefault()
      const text = ui.field.value
      if (this.room === undefined || this.root === undefined || text.trim() === '') return
      ui.field.value = ''
      host.send(this.room, text, this.root, ui.field)
    })
    ui.field.addEventListener('input', () => {
      if (this.room !== undefined) host.typing(this.room, ui.field.value.trim() !== '')
    })
    ui.field.addEventListener('blur', () => {
      if (this.room !== undefined) host.typing(this.room, false)
    })
  }

  /** Shows the thread of `root` (loading it), with the focus in its reply field. */
  open (room: string, root: number, maxLength?: number): void {
    const { ui } = this
    if (maxLength !== undefined) ui.field.maxLength = maxLength
    if (this.room === room && this.root === root) {
      ui.field.focus()
      return
    }
    if (this.room !== room) ui.field.value = ''
    const generation = ++this.generation
    this.room = room
    this.root = root
    this.rootMessage = this.host.held(room, root)
    this.replies.clear()
    this.complete = false
    ui.rootList.replaceChildren()
    ui.replies.replaceChildren()
    this.showRoot()
    this.showOlderButton()
    ui.panel.hidden = false
    this.host.toggled(true, false)
    ui.field.focus()
    void this.load(generation)
  }

  /** Hides the panel; `byUser` when the user closed it (Close thread, Escape). */
  close (byUser = false): void {
    if (this.room === undefined) return
    this.host.typing(this.room, false)
    this.generation++
    this.room = this.root = this.rootMessage = undefined
    this.replies.clear()
    this.ui.panel.hidden = true
    this.ui.field.value = ''
    this.host.toggled(false, byUser)
  }

  /** Loads the thread again from the server: the room started afresh (no replay of what was missed). */
  reload (): void {
    const { room, root } = this
    if (room === undefined || root === undefined) return
    this.root = undefined
    this.open(room, root)
  }

  onMessage (message: Message): void {
    if (message.room !== this.room || message.replyTo !== this.root) return
    this.put(message)
  }

  onUpdated (message: Message): void {
    if (message.room !== this.room) return
    if (message.seq === this.root) {
      this.rootMessage = message
      this.showRoot()
    } else if (this.replies.has(message.seq)) {
      this.put(message)
    }
  }

  /** Shows a message of the panel again as the page now shows it (a reaction of the user on its way). */
  refresh (room: string, seq: number): void {
    if (room !== this.room) return
    if (seq === this.root) this.showRoot()
    const reply = this.replies.get(seq)
    if (reply !== undefined) placeMessage(this.ui.replies, this.ui.scroller, this.host.itemFor(reply))
  }

  private async load (generation: number): Promise<void> {
    const client = this.host.client()
    const { room, root } = this
    if (client === undefined || room === undefined || root === undefined) return
    try {
      const [replies, rootMessage] = await Promise.all([
        client.thread(room, root, { limit: PAGE_SIZE }),
        // A root older than what the room's list holds: the one message at its seq.
        this.rootMessage === undefined ? client.history(room, { before: root + 1, limit: 1 }).then((page) => page.find((message) => message.seq === root)) : undefined
      ])
      if (generation !== this.generation) return
      if (rootMessage !== undefined && this.rootMessage === undefined) {
        this.rootMessage = rootMessage
        this.showRoot()
      }
      this.addPage(replies)
    } catch (err) {
      if (generation === this.generation) this.host.notice(`Could not open the thread: ${(err as Error).message}`)
    }
  }

  private async loadOlder (): Promise<void> {
    const client = this.host.client()
    const { room, root } = this
    const oldest = Math.min(...this.replies.keys())
    if (client === undefined || room === undefined || root === undefined || !Number.isFinite(oldest)) return
    const generation = this.generation
    this.ui.older.disabled = true
    try {
      const page = await client.thread(room, root, { before: oldest, limit: PAGE_SIZE })
      if (generation === this.generation) this.addPage(page)
    } catch (err) {
      if (generation === this.generation) this.host.notice(`Could not load older replies: ${(err as Error).message}`)
    } finally {
      this.ui.older.disabled = false
    }
  }

  private addPage (page: Message[]): void {
    for (const message of page) this.put(message)
    if (page.length < PAGE_SIZE) this.complete = true
    this.showOlderButton()
  }

  /** Holds a reply and shows it, unless the copy held is further along (an edit or delete seen first). */
  private put (message: Message): void {
    const held = this.replies.get(message.seq)
    if (held?.deleted === true && message.deleted !== true) return
    if (held !== undefined && (held.version ?? 1) > (message.version ?? 1)) return
    this.replies.set(message.seq, message)
    placeMessage(this.ui.replies, this.ui.scroller, this.host.itemFor(message))
  }

  private showRoot (): void {
    const { ui } = this
    const root = this.rootMessage
    const replies = root?.thread?.replies ?? 0
    ui.count.textContent = root === undefined ? 'Loading…' : replies === 1 ? '1 reply' : replies === 0 ? 'No replies yet' : `${replies} replies`
    if (root !== undefined) placeMessage(ui.rootList, ui.scroller, this.host.itemFor(root))
  }

  private showOlderButton (): void {
    this.ui.older.hidden = this.complete || this.replies.size === 0
  }
}
