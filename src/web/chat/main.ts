import { ChatClient, type JoinedFrame, type Message, type PresenceFrame } from '../../client/index.ts'
import type { ClientConfig } from '../../schemas/client-config.ts'
import { byId, messageItem, placeMessage, renderConnection, renderMessages, renderOnline, renderRooms } from './render.ts'
import { PAGE_SIZE, RoomModel } from './room-model.ts'

/**
 * The chat page: sign in (a name in dev mode, a token in JWT mode), join rooms, read and
 * write messages. Reconnects, re-joins and resends are the client SDK's; the page only
 * shows what it reports, keyed by seq so nothing is shown twice.
 */

const ID = /^[A-Za-z0-9_.-]{1,64}$/
const NAME_KEY = 'chat.name'

const ui = {
  connection: byId('connection'),
  signOut: byId<HTMLButtonElement>('sign-out'),
  signIn: byId('sign-in'),
  signInForm: byId<HTMLFormElement>('sign-in-form'),
  loadingConfig: byId('loading-config'),
  nameField: byId('name-field'),
  name: byId<HTMLInputElement>('name'),
  tokenField: byId('token-field'),
  token: byId<HTMLInputElement>('token'),
  connect: byId<HTMLButtonElement>('connect'),
  signInError: byId('sign-in-error'),
  chat: byId('chat'),
  rooms: byId<HTMLUListElement>('rooms'),
  joinForm: byId<HTMLFormElement>('join-form'),
  room: byId<HTMLInputElement>('room'),
  online: byId<HTMLUListElement>('online'),
  roomTitle: byId('room-title'),
  leave: byId<HTMLButtonElement>('leave'),
  scroller: byId('scroller'),
  older: byId<HTMLButtonElement>('older'),
  messages: byId<HTMLOListElement>('messages'),
  composer: byId<HTMLFormElement>('composer'),
  message: byId<HTMLInputElement>('message'),
  send: byId<HTMLButtonElement>('send'),
  notice: byId('notice')
}

let config: ClientConfig | undefined
let chat: ChatClient | undefined
let me: string | undefined
const rooms = new Map<string, RoomModel>()
let active: string | undefined
/** Sends not yet acknowledged: shown while the connection is down. */
let waiting = 0
/** Why connecting fails, while it does. */
let problem: string | undefined

/** The service's WebSocket URL, next to this page. */
function socketUrl (): string {
  const url = new URL('ws', location.href)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  return url.toString()
}

function notice (text: string): void {
  ui.notice.textContent = text
}

function showConnection (): void {
  const state = chat?.state ?? 'closed'
  const extras = [problem, waiting > 0 && state !== 'open' ? `${waiting} waiting to be sent` : undefined]
    .filter((extra) => extra !== undefined)
  renderConnection(ui.connection, state, me, extras.length === 0 ? undefined : `(${extras.join('; ')})`)
  // Who is online is last known, not current, while the connection is down.
  ui.chat.dataset.connection = state
}

// ---- sign in ------------------------------------------------------------------------

async function loadConfig (): Promise<void> {
  for (;;) {
    try {
      const response = await fetch('client-config')
      if (!response.ok) throw new Error(`HTTP ${response.status}`)
      config = await response.json() as ClientConfig
      break
    } catch (err) {
      ui.loadingConfig.textContent = `Cannot reach the server (${(err as Error).message}); trying again…`
      await new Promise((resolve) => setTimeout(resolve, 3000))
    }
  }
  ui.loadingConfig.hidden = true
  const dev = config.auth === 'dev'
  ui.nameField.hidden = !dev
  ui.tokenField.hidden = dev
  ui.name.required = dev
  ui.token.required = !dev
  ui.message.maxLength = config.maxText
  ui.connect.disabled = false
  if (dev) {
    ui.name.value = readName()
    ui.name.focus()
  } else {
    ui.token.focus()
  }
}

function readName (): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? ''
  } catch {
    return ''
  }
}

function saveName (name: string): void {
  try {
    localStorage.setItem(NAME_KEY, name)
  } catch {}
}

ui.signInForm.addEventListener('submit', (event) => {
  event.preventDefault()
  if (config === undefined) return
  if (config.auth === 'dev') {
    const name = ui.name.value.trim()
    if (!ID.test(name)) {
      ui.signInError.textContent = 'A name is 1 to 64 letters, digits, dots, dashes or underscores.'
      return
    }
    saveName(name)
    start({ user: name })
  } else {
    const token = ui.token.value.trim()
    if (token === '') {
      ui.signInError.textContent = 'Paste a token first.'
      return
    }
    start({ token })
  }
})

function start (identity: { user: string } | { token: string }): void {
  ui.signInError.textContent = ''
  const client = new ChatClient({ url: socketUrl(), ...identity })
  chat = client
  me = 'user' in identity ? identity.user : undefined
  client.on('state', (state) => {
    if (state === 'open') problem = undefined
    showConnection()
  })
  client.on('disconnect', (info) => {
    // Never connected yet: a wrong token or an unreachable server. (While reconnecting,
    // failed attempts are expected: the server is away.)
    if (!info.wasOpen && client.state === 'connecting') {
      problem = config?.auth === 'jwt' ? 'cannot connect: is the token valid? retrying' : 'cannot connect; retrying'
    }
    showConnection()
  })
  client.on('welcome', (welcome) => {
    me = welcome.user
    showConnection()
  })
  client.on('joined', onJoined)
  client.on('message', onMessage)
  client.on('presence', onPresence)
  client.on('kicked', (frame) => dropRoom(frame.room, `You were removed from ${frame.room}: ${frame.reason}.`))
  client.on('room_deleted', (frame) => dropRoom(frame.room, `Room ${frame.room} was deleted.`))
  client.on('error', (err) => notice(err.message))
  ui.signIn.hidden = true
  ui.chat.hidden = false
  ui.signOut.hidden = false
  showConnection()
  ui.room.focus()
  void client.connect()
}

ui.signOut.addEventListener('click', () => {
  chat?.close()
  chat = undefined
  me = undefined
  rooms.clear()
  active = undefined
  waiting = 0
  problem = undefined
  ui.chat.hidden = true
  ui.signOut.hidden = true
  ui.signIn.hidden = false
  showRoom()
  showConnection()
})

// ---- rooms --------------------------------------------------------------------------

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const room = ui.room.value.trim()
  if (chat === undefined) return
  if (!ID.test(room)) {
    notice('A room name is 1 to 64 letters, digits, dots, dashes or underscores.')
    return
  }
  ui.room.value = ''
  if (!rooms.has(room)) rooms.set(room, new RoomModel(room))
  select(room)
  ui.message.focus()
  chat.join(room).catch((err: Error) => {
    notice(`Could not join ${room}: ${err.message}`)
    if (chat?.joinedRooms.includes(room) !== true) removeRoom(room)
  })
})

function onJoined (frame: JoinedFrame): void {
  const model = rooms.get(frame.room)
  if (model === undefined) return
  model.members.clear()
  for (const user of frame.members) model.members.add(user)
  if (frame.room === active) renderOnline(ui.online, model.members, me)
  // First join: the history up to the join. After a re-join the client replays what was
  // missed, unless the server could not (recovered: false): then start the room afresh.
  const first = frame.recovered === undefined && model.messages.size === 0
  if (first || frame.recovered === false) {
    if (frame.recovered === false) {
      model.reset()
      if (frame.room === active) renderMessages(ui.messages, ui.scroller, [], me)
    }
    void loadOlder(model, frame.seq + 1)
  }
}

async function loadOlder (model: RoomModel, before: number): Promise<void> {
  if (chat === undefined) return
  if (before <= 1) {
    model.complete = true
    showOlderButton()
    return
  }
  ui.older.disabled = true
  try {
    const page = await chat.history(model.id, { before, limit: PAGE_SIZE })
    model.addPage(page, PAGE_SIZE)
    if (model.id === active) for (const message of page) placeMessage(ui.messages, ui.scroller, messageItem(message, me))
  } catch (err) {
    notice(`Could not load older messages: ${(err as Error).message}`)
  } finally {
    ui.older.disabled = false
    showOlderButton()
  }
}

ui.older.addEventListener('click', () => {
  const model = active === undefined ? undefined : rooms.get(active)
  const oldest = model?.oldestSeq()
  if (model !== undefined && oldest !== undefined) void loadOlder(model, oldest)
})

function onMessage (message: Message): void {
  const model = rooms.get(message.room)
  if (model === undefined) return
  model.put(message)
  if (message.room === active) placeMessage(ui.messages, ui.scroller, messageItem(message, me))
}

function onPresence (frame: PresenceFrame): void {
  const model = rooms.get(frame.room)
  if (model === undefined) return
  if (frame.event === 'join') model.members.add(frame.user)
  else model.members.delete(frame.user)
  if (frame.room === active) renderOnline(ui.online, model.members, me)
}

function dropRoom (room: string, why: string): void {
  notice(why)
  removeRoom(room)
}

function removeRoom (room: string): void {
  rooms.delete(room)
  if (active === room) active = undefined
  select(active ?? rooms.keys().next().value)
}

ui.leave.addEventListener('click', () => {
  const room = active
  if (room === undefined || chat === undefined) return
  chat.leave(room).catch((err: Error) => notice(`Could not leave ${room}: ${err.message}`))
  removeRoom(room)
})

function select (room: string | undefined): void {
  active = room
  showRoom()
}

function showRoom (): void {
  const model = active === undefined ? undefined : rooms.get(active)
  renderRooms(ui.rooms, [...rooms.keys()], active, select)
  ui.roomTitle.textContent = model === undefined ? 'Join a room to start' : model.id
  document.title = model === undefined ? 'Chat' : `${model.id} · Chat`
  renderMessages(ui.messages, ui.scroller, model?.sorted() ?? [], me)
  renderOnline(ui.online, model?.members ?? [], me)
  ui.leave.hidden = model === undefined
  ui.message.disabled = ui.send.disabled = model === undefined
  showOlderButton()
}

function showOlderButton (): void {
  const model = active === undefined ? undefined : rooms.get(active)
  ui.older.hidden = model === undefined || model.complete || model.messages.size === 0
}

// ---- sending ------------------------------------------------------------------------

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault()
  const room = active
  const text = ui.message.value
  if (chat === undefined || room === undefined || text.trim() === '') return
  ui.message.value = ''
  waiting++
  showConnection()
  chat.send(room, text)
    .catch((err: Error) => {
      notice(`Not sent to ${room}: ${err.message}`)
      if (ui.message.value === '') ui.message.value = text
    })
    .finally(() => {
      waiting--
      showConnection()
    })
})

void loadConfig()
