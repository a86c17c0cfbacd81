import { type AdminApi, ApiError, type Message, type OnlineUser, type Room, type RoomFields } from './api.ts'
import { confirmAction } from './confirm.ts'
import { actionButton, byId, cell, element, timeElement } from './dom.ts'
import type { Feedback } from './feedback.ts'

/** Messages shown at first, and loaded per "older" click. */
const MESSAGES_PAGE = 20

export interface DetailsEvents {
  /** The room changed (settings saved, a user revoked, a refresh): the list shows it too. */
  changed: (room: Room) => void
  /**
   * The details closed (`deleted`: the room is gone). `hadFocus`: the focus was in them and
   * needs a new place.
   */
  closed: (room: string, deleted: boolean, hadFocus: boolean) => void
}

/**
 * One room's details: its settings (PATCH), who may join a private room (grants), who is
 * online, its recent messages with a delete control each, and deleting the room itself.
 */
export function roomDetails (api: AdminApi, feedback: Feedback, events: DetailsEvents) {
  const ui = {
    section: byId('details'),
    title: byId('details-title'),
    close: byId<HTMLButtonElement>('close-details'),
    editForm: byId<HTMLFormElement>('edit-form'),
    name: byId<HTMLInputElement>('edit-name'),
    history: byId<HTMLInputElement>('edit-history'),
    slow: byId<HTMLInputElement>('edit-slow'),
    private: byId<HTMLInputElement>('edit-private'),
    publicNote: byId('public-note'),
    grantForm: byId<HTMLFormElement>('grant-form'),
    grantUser: byId<HTMLInputElement>('grant-user'),
    online: byId<HTMLUListElement>('online-list'),
    onlineEmpty: byId('online-empty'),
    messagesTitle: byId('messages-title'),
    messages: byId<HTMLTableSectionElement>('messages-body'),
    messagesEmpty: byId('messages-empty'),
    older: byId<HTMLButtonElement>('older-messages'),
    reloadMessages: byId<HTMLButtonElement>('reload-messages'),
    deleteRoom: byId<HTMLButtonElement>('delete-room')
  }
  let room: Room | undefined
  /**
   * The settings the form was filled from. A save sends only the fields the user changed from
   * these: a refresh updates `room` but not the form, and comparing against the refreshed room
   * would send back, as a change, the old value of a setting someone else changed meanwhile.
   */
  let filled: Pick<Room, 'name' | 'private' | 'historyLimit' | 'slowModeMs'> | undefined

  /** The room was deleted under the page (by someone else): say so and close. */
  function gone (id: string, err: unknown): boolean {
    if (!(err instanceof ApiError && err.status === 404) || room?.id !== id) return false
    feedback.say(`Room ${id} no longer exists`)
    close(true)
    return true
  }

  function showRoom (next: Room): void {
    room = next
    ui.title.textContent = `Room ${next.id}`
    ui.name.value = next.name
    ui.history.value = String(next.historyLimit)
    ui.slow.value = String(next.slowModeMs / 1000)
    ui.private.checked = next.private
    filled = { name: next.name, private: next.private, historyLimit: next.historyLimit, slowModeMs: next.slowModeMs }
    showPrivacy(next.private)
  }

  /** Grants are managed for a private room; a public one says anyone may join. */
  function showPrivacy (isPrivate: boolean): void {
    ui.grantForm.hidden = !isPrivate
    ui.publicNote.hidden = isPrivate
  }

  // ---- online -----------------------------------------------------------------------

  function renderOnline (users: OnlineUser[]): void {
    ui.onlineEmpty.hidden = users.length > 0
    ui.online.replaceChildren(...users.map(({ user, connections }) => {
      const item = element('li', undefined, `${user} (${connections === 1 ? '1 connection' : `${connections} connections`})`)
      if (room?.private === true) item.append(' ', actionButton('Revoke', user, () => { void revoke(user) }))
      return item
    }))
  }

  async function loadOnline (id: string): Promise<void> {
    try {
      const users = await api.online(id)
      if (room?.id === id) renderOnline(users)
    } catch (err) {
      if (!gone(id, err)) feedback.fail(`Could not list who is online in ${id}`, err)
    }
  }

  // ---- messages ---------------------------------------------------------------------

  function messageRow (message: Message): HTMLTableRowElement {
    const row = element('tr')
    row.dataset.seq = String(message.seq)
    const seq = element('th', 'numeric', String(message.seq))
    seq.scope = 'row'
    const time = element('td', 'optional')
    time.append(timeElement(message.time))
    const text = message.deleted === true ? cell('(deleted)', 'deleted') : cell(message.text, 'text')
    const actions = element('td', 'actions')
    if (message.deleted !== true) {
      actions.append(actionButton('Delete', `message ${message.seq}`, () => { void deleteMessage(message) }))
    }
    row.append(seq, cell(message.user), time, text, actions)
    return row
  }

  function oldestShown (): number | undefined {
    const first = ui.messages.firstElementChild as HTMLElement | null
    return first === null ? undefined : Number(first.dataset.seq)
  }

  /** Loads the newest messages (or those before the oldest shown); false when it failed. */
  async function loadMessages (id: string, older = false): Promise<boolean> {
    const before = older ? oldestShown() : undefined
    try {
      const page = await api.messages(id, MESSAGES_PAGE, before)
      if (room?.id !== id) return false
      const rows = page.map(messageRow)
      if (older) ui.messages.prepend(...rows)
      else ui.messages.replaceChildren(...rows)
      ui.messagesEmpty.hidden = ui.messages.children.length > 0
      const oldest = oldestShown()
      ui.older.hidden = page.length < MESSAGES_PAGE || oldest === undefined || oldest <= 1
      return true
    } catch (err) {
      if (!gone(id, err)) feedback.fail(`Could not load the messages of ${id}`, err)
      return false
    }
  }

  async function deleteMessage (message: Message): Promise<void> {
    const preview = message.text.length > 80 ? `${message.text.slice(0, 80)}…` : message.text
    const sure = await confirmAction(`Delete message ${message.seq}?`,
      `“${preview}” by ${message.user} in ${message.room}. Members see it deleted; it cannot be brought back.`, 'Delete message')
    if (!sure) return
    try {
      await api.deleteMessage(message.room, message.seq)
      feedback.say(`Message ${message.seq} deleted`)
      const row = ui.messages.querySelector(`tr[data-seq="${message.seq}"]`)
      if (row !== null && room?.id === message.room) {
        row.replaceWith(messageRow({ ...message, text: '', deleted: true }))
        // The row's button had the focus and is gone: keep focus in the messages.
        ui.messagesTitle.focus()
      }
    } catch (err) {
      if (!gone(message.room, err)) feedback.fail(`Could not delete message ${message.seq}`, err)
    }
  }

  ui.older.addEventListener('click', () => {
    if (room !== undefined) void loadMessages(room.id, true)
  })
  ui.reloadMessages.addEventListener('click', () => {
    if (room !== undefined) void loadMessages(room.id).then((ok) => { if (ok) feedback.say('Messages reloaded') })
  })

  // ---- settings, grants, deletion ---------------------------------------------------

  ui.editForm.addEventListener('submit', (event) => {
    event.preventDefault()
    if (room === undefined || filled === undefined) return
    const current = room
    // Only what the user changed in the form: sending an unchanged limit would pin a room that
    // follows the default, and an unchanged field would undo another admin's change to it.
    const changes: RoomFields = {}
    if (ui.name.value.trim() !== filled.name) changes.name = ui.name.value.trim()
    if (ui.private.checked !== filled.private) changes.private = ui.private.checked
    const limit = ui.history.value === '' ? null : Number(ui.history.value)
    if (limit !== filled.historyLimit) changes.historyLimit = limit
    const slowModeMs = Math.round(Number(ui.slow.value === '' ? 0 : ui.slow.value) * 1000)
    if (slowModeMs !== filled.slowModeMs) changes.slowModeMs = slowModeMs
    if (Object.keys(changes).length === 0) {
      feedback.say('Nothing to save: no setting changed')
      return
    }
    api.updateRoom(current.id, changes).then((updated) => {
      if (room?.id === updated.id) showRoom(updated)
      events.changed(updated)
      feedback.say(`Room ${updated.id} saved`)
    }, (err: unknown) => {
      if (!gone(current.id, err)) feedback.fail(`Could not save room ${current.id}`, err)
    })
  })

  async function revoke (user: string): Promise<void> {
    if (room === undefined) return
    const id = room.id
    try {
      await api.revoke(id, user)
      feedback.say(`${user} may no longer join ${id}`)
      await loadOnline(id)
    } catch (err) {
      if (!gone(id, err)) feedback.fail(`Could not revoke ${user} in ${id}`, err)
    }
  }

  ui.grantForm.addEventListener('submit', (event) => {
    event.preventDefault()
    if (room === undefined) return
    const id = room.id
    const user = ui.grantUser.value.trim()
    const submitter = event.submitter as HTMLButtonElement | null
    if (submitter?.value === 'revoke') {
      void revoke(user)
      return
    }
    api.grant(id, user).then(() => {
      feedback.say(`${user} may join ${id}`)
    }, (err: unknown) => {
      if (!gone(id, err)) feedback.fail(`Could not grant ${user} in ${id}`, err)
    })
  })

  ui.deleteRoom.addEventListener('click', () => {
    if (room === undefined) return
    const { id, online } = room
    const who = online === 0 ? 'Nobody is online in it.' : `The ${online === 1 ? 'user' : `${online} users`} online in it are told it is gone.`
    void confirmAction(`Delete room ${id}?`, `${who} Its history is deleted; this cannot be undone.`, 'Delete room').then(async (sure) => {
      if (!sure) return
      try {
        await api.deleteRoom(id)
        feedback.say(`Room ${id} deleted`)
        if (room?.id === id) close(true)
      } catch (err) {
        if (!gone(id, err)) feedback.fail(`Could not delete room ${id}`, err)
      }
    })
  })

  function close (deleted = false): void {
    const id = room?.id
    const active = document.activeElement
    const hadFocus = active === null || active === document.body || ui.section.contains(active)
    room = undefined
    filled = undefined
    ui.section.hidden = true
    if (id !== undefined) events.closed(id, deleted, hadFocus)
  }

  ui.close.addEventListener('click', () => close())

  return {
    /** Shows a room, loads who is online and its messages, and moves focus to it. */
    open (next: Room): void {
      const switching = room?.id !== next.id
      showRoom(next)
      ui.section.hidden = false
      if (switching) {
        ui.online.replaceChildren()
        ui.messages.replaceChildren()
        ui.grantUser.value = ''
      }
      void loadOnline(next.id)
      void loadMessages(next.id)
      ui.title.focus()
    },
    /** Reloads the room and who is online (not the messages: rows would move under the reader). */
    async refresh (): Promise<void> {
      if (room === undefined) return
      const id = room.id
      try {
        const fresh = await api.getRoom(id)
        if (room?.id !== id) return
        // The form keeps what the user may be editing; what depends on the room's privacy follows it.
        room = fresh
        showPrivacy(fresh.private)
        events.changed(fresh)
      } catch (err) {
        if (!gone(id, err)) feedback.fail(`Could not refresh room ${id}`, err)
        return
      }
      await loadOnline(id)
    },
    close,
    get current (): string | undefined {
      return room?.id
    }
  }
}
