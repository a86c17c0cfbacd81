import { type AdminApi, ApiError, type Room, type RoomFields } from './api.ts'
import { actionButton, byId, cell, element, timeElement } from './dom.ts'
import type { Feedback } from './feedback.ts'

/** What loading a page of rooms came to: a 401 is the token form's business. */
export type LoadOutcome = 'ok' | 'unauthorized' | 'failed'

interface RoomRow {
  row: HTMLTableRowElement
  name: HTMLTableCellElement
  access: HTMLTableCellElement
  online: HTMLTableCellElement
  historyLimit: HTMLTableCellElement
}

/**
 * The room list, a page at a time (`GET /rooms?limit=&cursor=`), and the form that creates
 * rooms. Rows are kept per room id and updated in place, so a refresh never takes the
 * keyboard focus away from the row being used.
 */
export function roomsPanel (api: AdminApi, feedback: Feedback, open: (room: Room) => void) {
  const ui = {
    title: byId('rooms-title'),
    body: byId<HTMLTableSectionElement>('rooms-body'),
    empty: byId('rooms-empty'),
    previous: byId<HTMLButtonElement>('previous-page'),
    next: byId<HTMLButtonElement>('next-page'),
    pageNumber: byId('page-number'),
    pageSize: byId<HTMLSelectElement>('page-size'),
    refresh: byId<HTMLButtonElement>('refresh-rooms'),
    createForm: byId<HTMLFormElement>('create-form'),
    createId: byId<HTMLInputElement>('create-id'),
    createName: byId<HTMLInputElement>('create-name'),
    createHistory: byId<HTMLInputElement>('create-history'),
    createPrivate: byId<HTMLInputElement>('create-private')
  }
  const rows = new Map<string, RoomRow>()
  /** The rooms of the page shown, as last loaded. */
  const shown = new Map<string, Room>()
  /** The cursor of each page up to the one shown (undefined: the first page). */
  const cursors: (string | undefined)[] = [undefined]
  let nextCursor: string | null = null
  let selected: string | undefined
  /** Only the latest load renders, so a slow refresh never overwrites a newer page. */
  let loads = 0

  function newRow (room: Room): RoomRow {
    const row = element('tr')
    row.dataset.room = room.id
    const id = element('th', undefined, room.id)
    id.scope = 'row'
    const cells = { name: cell(''), access: cell(''), online: cell('', 'numeric'), historyLimit: cell('', 'numeric optional') }
    const created = element('td', 'optional')
    created.append(timeElement(room.createdAt))
    const actions = element('td', 'actions')
    actions.append(actionButton('Manage', `room ${room.id}`, () => {
      const current = shown.get(room.id)
      if (current !== undefined) open(current)
    }))
    row.append(id, cells.name, cells.access, cells.online, cells.historyLimit, created, actions)
    return { row, ...cells }
  }

  function render (rooms: Room[]): void {
    shown.clear()
    for (const room of rooms) shown.set(room.id, room)
    for (const [id, { row }] of rows) {
      if (!shown.has(id)) {
        row.remove()
        rows.delete(id)
      }
    }
    rooms.forEach((room, index) => {
      let entry = rows.get(room.id)
      if (entry === undefined) {
        entry = newRow(room)
        rows.set(room.id, entry)
      }
      fill(entry, room)
      // Moving a row would blur a button in it: move only what is out of place.
      if (ui.body.children[index] !== entry.row) ui.body.insertBefore(entry.row, ui.body.children[index] ?? null)
    })
    ui.empty.hidden = rooms.length > 0
    ui.empty.textContent = cursors.length > 1 ? 'No more rooms on this page.' : 'No rooms yet.'
    ui.previous.disabled = cursors.length <= 1
    ui.next.disabled = nextCursor === null
    ui.pageNumber.textContent = `Page ${cursors.length}`
  }

  function fill (entry: RoomRow, room: Room): void {
    entry.name.textContent = room.name
    entry.access.textContent = room.private ? 'Private' : 'Public'
    entry.online.textContent = String(room.online)
    entry.historyLimit.textContent = String(room.historyLimit)
    entry.row.classList.toggle('selected', room.id === selected)
  }

  async function load (): Promise<LoadOutcome> {
    const ticket = ++loads
    try {
      const page = await api.listRooms(Number(ui.pageSize.value), cursors.at(-1))
      if (ticket !== loads) return 'ok'
      nextCursor = page.nextCursor
      render(page.rooms)
      return 'ok'
    } catch (err) {
      feedback.fail('Could not list the rooms', err)
      return err instanceof ApiError && err.status === 401 ? 'unauthorized' : 'failed'
    }
  }

  async function turn (to: 'previous' | 'next' | 'first'): Promise<void> {
    if (to === 'next' && nextCursor !== null) cursors.push(nextCursor)
    else if (to === 'previous' && cursors.length > 1) cursors.pop()
    else if (to === 'first') cursors.splice(1)
    if (await load() === 'ok') feedback.say(`Rooms, page ${cursors.length}`)
  }

  ui.previous.addEventListener('click', () => { void turn('previous') })
  ui.next.addEventListener('click', () => { void turn('next') })
  ui.pageSize.addEventListener('change', () => { void turn('first') })
  ui.refresh.addEventListener('click', () => {
    void load().then((outcome) => { if (outcome === 'ok') feedback.say('Rooms refreshed') })
  })

  ui.createForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const id = ui.createId.value.trim()
    const fields: RoomFields = { private: ui.createPrivate.checked }
    if (ui.createName.value.trim() !== '') fields.name = ui.createName.value.trim()
    if (ui.createHistory.value !== '') fields.historyLimit = Number(ui.createHistory.value)
    api.createRoom(id, fields).then(async (room) => {
      ui.createForm.reset()
      // The list shows the new room before it is announced, so what is said matches what is shown.
      // A list that failed to load keeps its alert; the room's details still open below.
      if (await load() === 'ok') feedback.say(`Room ${room.id} created`)
      open(room)
    }, (err: unknown) => feedback.fail(`Could not create room ${id}`, err))
  })

  return {
    load,
    /** Marks the room whose details are open. */
    select (id: string | undefined): void {
      selected = id
      for (const [roomId, { row }] of rows) row.classList.toggle('selected', roomId === id)
    },
    /** Shows a room's new state if its row is on the page. */
    update (room: Room): void {
      const entry = rows.get(room.id)
      if (entry === undefined) return
      shown.set(room.id, room)
      fill(entry, room)
    },
    /** Where focus goes when what it was on is gone. */
    focusTarget (id?: string): HTMLElement {
      return (id === undefined ? undefined : rows.get(id)?.row.querySelector('button')) ?? ui.title
    }
  }
}
