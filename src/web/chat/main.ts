import {
  ChatClient, type JoinedFrame, type Message, type PresenceFrame, type ReadOutFrame, type SendOptions, type TypingOutFrame
} from '../../client/index.ts'
import type { ClientConfig } from '../../schemas/client-config.ts'
import { PushControls } from './push-controls.ts'
import { PendingReactions, SETTLE_MS, type ShownReaction, shownReactions } from './reactions.ts'
import {
  atBottom, confirmDelete, type MessageActions, messageItem, openEditor, type PendingChange, placeMessage,
  renderConnection, renderMessages, renderOnline, renderRooms, typingText
} from './render.ts'
import { PAGE_SIZE, RoomModel } from './room-model.ts'
import { ThreadPanel } from './thread-panel.ts'
import { byId } from '../dom.ts'

/**
 * The chat page: sign in (a name in dev mode, a token in JWT mode), join rooms, read and
 * write messages, edit and delete your own, react, reply in threads, see who is typing, what
 * is unread and where you are mentioned. Reconnects, re-joins, resends, typing pace and read
 * coalescing are the client SDK's; the page only shows what it reports, keyed by seq so
 * nothing is shown twice. Replies stay in the room's list (one item per message the room
 * received, as the unread counts count them), marked as replies, and show in the thread panel.
 * `?room=<id>` opens that room once signed in (a click on a notification leads there).
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
  dms: byId<HTMLUListElement>('dms'),
  dmForm: byId<HTMLFormElement>('dm-form'),
  dmUser: byId<HTMLInputElement>('dm-user'),
  searchForm: byId<HTMLFormElement>('search-form'),
  searchQuery: byId<HTMLInputElement>('search-query'),
  searchStatus: byId('search-status'),
  searchResults: byId<HTMLUListElement>('search-results'),
  joinForm: byId<HTMLFormElement>('join-form'),
  room: byId<HTMLInputElement>('room'),
  online: byId<HTMLUListElement>('online'),
  roomTitle: byId('room-title'),
  leave: byId<HTMLButtonElement>('leave'),
  scroller: byId('scroller'),
  older: byId<HTMLButtonElement>('older'),
  messages: byId<HTMLOListElement>('messages'),
  typing: byId('typing'),
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
/** The message whose editor or delete question is open, in the active room. */
let editing: number | undefined
/** Edits and deletes of the user's messages sent and not yet seen back, by `room seq`. */
const changes = new Map<string, { kind: PendingChange, text: string, version: number }>()
/** The user's reactions sent and not yet seen back. */
const reacting = new PendingReactions()
/** The control that opened the thread panel, in the room's list: the focus goes back to it. */
let threadOpener: { seq: number, focus: string } | undefined
/** A room to open once signed in: from `?room=`, or a notification clicked before. */
let wantedRoom = roomFromUrl()

function roomFromUrl (): string | undefined {
  const room = new URLSearchParams(location.search).get('room') ?? ''
  return ID.test(room) ? room : undefined
}

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
  // The app serving the page knows who the user is: its session goes with the upgrade.
  if (config.auth === 'app') {
    start({})
    return
  }
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

function start (identity: { user: string } | { token: string } | Record<string, never>): void {
  ui.signInError.textContent = ''
  const client = new ChatClient({ url: socketUrl(), ...identity })
  chat = client
  me = 'user' in identity ? identity.user : undefined
  client.on('state', (state) => {
    if (state === 'open') problem = undefined
    // Typing is not replayed: what was shown is stale once the connection is gone.
    else for (const model of rooms.values()) model.typing = []
    showTyping()
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
    void refreshUnread()
    void loadDirectMessages()
    void push.connected()
  })
  client.on('joined', onJoined)
  client.on('message', onMessage)
  client.on('updated', onUpdated)
  client.on('presence', onPresence)
  client.on('typing', onTyping)
  client.on('read', onRead)
  client.on('kicked', (frame) => dropRoom(frame.room, `You were removed from ${frame.room}: ${frame.reason}.`))
  client.on('room_deleted', (frame) => dropRoom(frame.room, `Room ${frame.room} was deleted.`))
  client.on('error', (err) => {
    // A re-join refused after a reconnect (the room deleted, or access revoked, while off
    // line): nobody waits for it, and the client has dropped the room. So does the page.
    if (err.room !== undefined && rooms.has(err.room) && !client.joinedRooms.includes(err.room)) dropRoom(err.room, err.message)
    else notice(err.message)
  })
  ui.signIn.hidden = true
  ui.chat.hidden = false
  ui.signOut.hidden = false
  showConnection()
  ui.room.focus()
  void client.connect()
  if (wantedRoom !== undefined) openWanted(wantedRoom)
}

/** Shows a room asked for from outside the page (the URL, a notification); joined if need be. */
function openWanted (room: string): void {
  wantedRoom = undefined
  // Once open, the room is the page's: a reload should not open it again.
  if (location.search !== '') history.replaceState(null, '', location.pathname)
  joinRoom(room)
}

ui.signOut.addEventListener('click', () => {
  if (chat !== undefined) push.signOut(chat)
  // close() rejects what is still waiting; their handlers see `chat` is no longer their client.
  chat?.close()
  chat = undefined
  me = undefined
  thread.close()
  reacting.clear()
  rooms.clear()
  active = undefined
  editing = undefined
  changes.clear()
  waiting = 0
  problem = undefined
  notice('')
  ui.message.value = ''
  ui.searchStatus.textContent = ''
  ui.searchResults.replaceChildren()
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
  joinRoom(room)
})

/** Shows the room and joins it (unless joined): the page's Join, and a direct message opened or picked. */
function joinRoom (room: string, dmWith?: string[]): void {
  const client = chat
  if (client === undefined) return
  let model = rooms.get(room)
  if (model === undefined) rooms.set(room, model = new RoomModel(room))
  if (dmWith !== undefined) model.dmWith = dmWith
  select(room)
  ui.message.focus()
  if (client.joinedRooms.includes(room)) return
  client.join(room).catch((err: Error) => {
    // Signed out meanwhile: the join belongs to a session that is gone.
    if (chat !== client) return
    notice(`Could not join ${room}: ${err.message}`)
    if (!client.joinedRooms.includes(room)) removeRoom(room)
  })
}

// ---- search -----------------------------------------------------------------------

ui.searchForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const client = chat
  const query = ui.searchQuery.value.trim()
  if (client === undefined || query === '') return
  ui.searchStatus.textContent = 'Searching…'
  client.search(query, { limit: 20 }).then((messages) => {
    if (chat !== client) return
    ui.searchStatus.textContent = messages.length === 0 ? `Nothing found for “${query}”` : `${messages.length === 1 ? 'One message' : `${messages.length} messages`} found for “${query}”`
    ui.searchResults.replaceChildren(...messages.map((message) => {
      const open = document.createElement('button')
      open.type = 'button'
      open.className = 'search-result'
      open.textContent = `${message.room} · ${message.user}: ${message.text}`
      open.title = `Open ${message.room} (${new Date(message.time).toLocaleString()})`
      open.addEventListener('click', () => joinRoom(message.room))
      const item = document.createElement('li')
      item.append(open)
      return item
    }))
  }, (err: Error) => {
    if (chat !== client) return
    ui.searchStatus.textContent = `Could not search: ${err.message}`
    ui.searchResults.replaceChildren()
  })
})

// ---- direct messages ----------------------------------------------------------------

/** The other participants of a DM room, from its name (the participants, comma-separated). */
function othersIn (name: string): string[] {
  return name.split(',').map((user) => user.trim()).filter((user) => user !== '' && user !== me)
}

ui.dmForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const client = chat
  const users = ui.dmUser.value.split(',').map((user) => user.trim()).filter((user) => user !== '')
  if (client === undefined || users.length === 0) return
  client.openDm(users).then((dm) => {
    if (chat !== client) return
    ui.dmUser.value = ''
    joinRoom(dm.room, dm.users.filter((user) => user !== me))
  }, (err: Error) => notice(`Could not open a conversation with ${users.join(', ')}: ${err.message}`))
})

/** Lists the user's conversations (DM rooms it has a grant in), without joining them until picked. */
async function loadDirectMessages (): Promise<void> {
  const client = chat
  if (client === undefined) return
  try {
    for (const entry of await client.roomsList()) {
      if (!entry.dm || chat !== client) continue
      let model = rooms.get(entry.room)
      if (model === undefined) rooms.set(entry.room, model = new RoomModel(entry.room))
      model.dmWith = othersIn(entry.name)
      model.note(entry.seq, entry.readSeq)
    }
    showRooms()
  } catch {}
}

function onJoined (frame: JoinedFrame): void {
  const model = rooms.get(frame.room)
  if (model === undefined) return
  if (frame.seq < model.latestSeq) model.startOver(frame.seq, frame.readSeq ?? 0)
  else model.note(frame.seq, frame.readSeq)
  model.role = frame.role
  showRooms()
  model.members.clear()
  for (const user of frame.members) model.members.add(user)
  if (frame.room === active) showOnline(model)
  // First join: the history up to the join. After a re-join the client replays what was
  // missed, unless the server could not (recovered: false): then start the room afresh.
  const first = frame.recovered === undefined && model.messages.size === 0
  if (first || frame.recovered === false) {
    if (frame.recovered === false) {
      model.reset()
      if (frame.room === active) showMessages(model)
      if (frame.room === thread.room) thread.reload()
    }
    void loadOlder(model, frame.seq + 1)
  }
}

async function loadOlder (model: RoomModel, before: number): Promise<void> {
  const client = chat
  if (client === undefined) return
  if (before <= 1) {
    model.complete = true
    showOlderButton()
    return
  }
  ui.older.disabled = true
  try {
    const page = await client.history(model.id, { before, limit: PAGE_SIZE })
    model.addPage(page, PAGE_SIZE)
    if (model.id === active) {
      for (const message of page) showMessage(model, model.messages.get(message.seq)!)
      // Replies shown before their root was loaded can now name its author.
      const loaded = new Set(page.map((message) => message.seq))
      for (const message of model.messages.values()) {
        if (message.replyTo !== undefined && loaded.has(message.replyTo) && !loaded.has(message.seq) && message.seq !== editing) showMessage(model, message)
      }
      markRead()
    }
  } catch (err) {
    if (chat === client) notice(`Could not load older messages: ${(err as Error).message}`)
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
  // The server moves a sender's read seq to its own message.
  if (message.user === me) model.note(message.seq, message.seq)
  if (message.room === active) {
    showMessage(model, message)
    markRead()
  }
  thread.onMessage(message)
  showRooms()
}

function onUpdated (message: Message): void {
  reacting.settle(message, me)
  thread.onUpdated(message)
  const model = rooms.get(message.room)
  if (model === undefined || !model.update(message)) return
  // An edit may add or remove a mention of the user.
  showRooms()
  const key = changeKey(message.room, message.seq)
  const change = changes.get(key)
  if (change !== undefined && (message.deleted === true || (message.version ?? 1) > change.version)) changes.delete(key)
  if (message.room !== active) return
  // An editor stays open over a change made elsewhere, unless that change was a delete.
  if (editing === message.seq && message.deleted !== true) return
  if (editing === message.seq) editing = undefined
  showMessage(model, message)
}

function onTyping (frame: TypingOutFrame): void {
  const model = rooms.get(frame.room)
  if (model === undefined) return
  model.typing = frame.users.filter((user) => user !== me)
  if (frame.room === active) showTyping()
}

function onRead (frame: ReadOutFrame): void {
  const model = rooms.get(frame.room)
  // Only the user's own read position makes an unread count; the user may read on another device.
  if (model === undefined || frame.user !== me) return
  model.note(frame.seq, frame.seq)
  showRooms()
}

/** Unread and mention counts from the server: after sign-in and every reconnect, reads made elsewhere included. */
async function refreshUnread (): Promise<void> {
  if (chat === undefined) return
  try {
    for (const entry of await chat.unread()) {
      const model = rooms.get(entry.room)
      model?.note(entry.seq, entry.readSeq)
      model?.noteMentions(entry)
    }
    showRooms()
  } catch {
    // The next welcome asks again; meanwhile the counts follow messages and read events.
  }
}

function onPresence (frame: PresenceFrame): void {
  const model = rooms.get(frame.room)
  if (model === undefined) return
  if (frame.event === 'join') model.members.add(frame.user)
  else model.members.delete(frame.user)
  if (frame.room === active) showOnline(model)
}

function dropRoom (room: string, why: string): void {
  notice(why)
  removeRoom(room)
}

function removeRoom (room: string): void {
  rooms.delete(room)
  for (const key of changes.keys()) if (key.startsWith(`${room} `)) changes.delete(key)
  reacting.dropRoom(room)
  if (active === room) active = undefined
  select(active ?? rooms.keys().next().value)
}

ui.leave.addEventListener('click', () => {
  const room = active
  if (room === undefined || chat === undefined) return
  const client = chat
  client.leave(room).catch((err: Error) => { if (chat === client) notice(`Could not leave ${room}: ${err.message}`) })
  removeRoom(room)
})

function select (room: string | undefined): void {
  if (active !== undefined && active !== room) stopTypingIn(active)
  if (thread.room !== room) thread.close()
  active = room
  showRoom()
  markRead()
}

function showRoom (): void {
  const model = active === undefined ? undefined : rooms.get(active)
  showRooms()
  ui.roomTitle.textContent = model === undefined ? 'Join a room to start' : model.dmWith !== undefined ? `With ${model.dmWith.join(', ')}` : model.id
  showMessages(model)
  showOnline(model)
  showTyping()
  ui.leave.hidden = model === undefined
  push.showRoom(model?.id)
  ui.message.disabled = ui.send.disabled = model === undefined
  showOlderButton()
}

/** The room list with unread and mention counts, and the unread total in the window's title. */
function showRooms (): void {
  const list = [...rooms.values()].map((model) => ({
    id: model.id, label: model.dmWith?.join(', '), dm: model.dmWith !== undefined, unread: model.unread, mentions: me === undefined ? 0 : model.mentionsOf(me)
  }))
  renderRooms(ui.rooms, list.filter((room) => !room.dm), active, select)
  renderRooms(ui.dms, list.filter((room) => room.dm), active, (room) => joinRoom(room))
  const total = list.reduce((sum, room) => sum + room.unread, 0)
  const title = active === undefined ? 'Chat' : `${active} · Chat`
  document.title = total > 0 ? `(${total}) ${title}` : title
}

function showTyping (): void {
  const model = active === undefined ? undefined : rooms.get(active)
  ui.typing.textContent = typingText(model?.typing ?? [])
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
  sendText(room, text, {}, ui.message)
})

/** Sends a message or reply, counted as waiting until acknowledged; a refused one's text goes back in `field`. */
function sendText (room: string, text: string, options: SendOptions, field: HTMLInputElement): void {
  if (chat === undefined) return
  waiting++
  showConnection()
  const client = chat
  // After a sign-out (the send rejected by close()) its text and count belong to no session.
  client.send(room, text, options)
    .catch((err: Error) => {
      if (chat !== client) return
      notice(`Not sent to ${room}: ${err.message}`)
      if (field.value === '') field.value = text
    })
    .finally(() => {
      if (chat !== client) return
      waiting--
      showConnection()
    })
}

// ---- typing -------------------------------------------------------------------------

// Every keystroke says "typing"; the client sends it at the pace the server expects.
ui.message.addEventListener('input', () => {
  if (chat === undefined || active === undefined) return
  if (ui.message.value.trim() === '') stopTypingIn(active)
  else chat.typing(active).catch(() => {})
})
ui.message.addEventListener('blur', () => {
  if (active !== undefined) stopTypingIn(active)
})

function stopTypingIn (room: string): void {
  chat?.typing(room, false).catch(() => {})
}

// ---- edit and delete ----------------------------------------------------------------

const actions: MessageActions = { edit: startEdit, remove: askDelete, openThread, react, report, moderate }

/** Reports a message to the moderators' queue. */
function report (message: Message): void {
  chat?.report(message.room, message.seq).then(
    () => notice(`Reported ${message.user}'s message to the moderators.`),
    (err: Error) => notice(`Could not report the message: ${err.message}`))
}

/** Who is online; an owner or a moderator gets Mute, Kick and Ban beside the others. */
function showOnline (model: RoomModel | undefined): void {
  const room = model?.id
  renderOnline(ui.online, model?.members ?? [], me, model?.role === undefined || room === undefined
    ? undefined
    : (user, action) => moderate({ room, user }, action))
}

/** A moderator mutes (10 minutes), kicks, or bans (a day) a message's author, or a member online. */
function moderate (target: { room: string, user: string }, action: 'mute' | 'kick' | 'ban'): void {
  const client = chat
  if (client === undefined) return
  const { room, user } = target
  const request = action === 'mute'
    ? client.mute(room, user, { durationMs: 10 * 60_000 })
    : action === 'ban' ? client.ban(room, user, { durationMs: 24 * 3_600_000 }) : client.kick(room, user)
  const done = action === 'mute' ? `${user} is muted in ${room} for 10 minutes.` : action === 'ban' ? `${user} is banned from ${room} for a day.` : `${user} was removed from ${room}.`
  request.then(() => notice(done), (err: Error) => notice(`Could not ${action} ${user}: ${err.message}`))
}

function changeKey (room: string, seq: number): string {
  return `${room} ${seq}`
}

/** A message's list item as it should look: with its controls, or as a change on its way shows it. */
function itemFor (model: RoomModel, message: Message): HTMLLIElement {
  const change = changes.get(changeKey(model.id, message.seq))
  const shown = change?.kind === 'saving' ? { ...message, text: change.text } : message
  const replyingTo = message.replyTo === undefined ? undefined : model.messages.get(message.replyTo)?.user
  return messageItem(shown, { me, actions, pending: change?.kind, place: 'room', reactions: reactionsOf(message), replyingTo, moderator: model.role !== undefined })
}

function reactionsOf (message: Message): ShownReaction[] {
  return shownReactions(message.reactions, me, reacting.forMessage(message.room, message.seq))
}

function showMessage (model: RoomModel, message: Message): void {
  placeMessage(ui.messages, ui.scroller, itemFor(model, message))
}

function showMessages (model: RoomModel | undefined): void {
  editing = undefined
  renderMessages(ui.messages, ui.scroller, model === undefined ? [] : model.sorted().map((message) => itemFor(model, message)))
}

function itemOf (seq: number): HTMLLIElement | null {
  return ui.messages.querySelector<HTMLLIElement>(`li[data-seq="${seq}"]`)
}

/** Shows the message as it is held again, closing its editor; `focus` puts the focus back on its Edit button. */
function closeEditor (focus: 'edit' | 'delete' | undefined): void {
  const seq = editing
  const model = active === undefined ? undefined : rooms.get(active)
  editing = undefined
  const message = seq === undefined ? undefined : model?.messages.get(seq)
  if (model === undefined || message === undefined) return
  showMessage(model, message)
  if (focus !== undefined) itemOf(message.seq)?.querySelector<HTMLButtonElement>(`[data-focus="${focus}"]`)?.focus()
}

function startEdit (message: Message): void {
  closeEditor(undefined)
  const item = itemOf(message.seq)
  if (item === null) return
  editing = message.seq
  openEditor(item, message, (text) => {
    if (text === message.text) return closeEditor('edit')
    editing = undefined
    change(message, 'saving', text)
  }, () => closeEditor('edit'), config?.maxText)
}

function askDelete (message: Message): void {
  closeEditor(undefined)
  const item = itemOf(message.seq)
  if (item === null) return
  editing = message.seq
  confirmDelete(item, () => {
    editing = undefined
    change(message, 'deleting', '')
  }, () => closeEditor('delete'))
}

/**
 * Sends an edit or delete and shows it as on its way until the server's `updated` comes back
 * (while disconnected it waits, as sends do); a refusal puts the message back as it was.
 */
function change (message: Message, kind: PendingChange, text: string): void {
  const model = rooms.get(message.room)
  if (chat === undefined || model === undefined) return
  const key = changeKey(message.room, message.seq)
  changes.set(key, { kind, text, version: message.version ?? 1 })
  showMessage(model, model.messages.get(message.seq) ?? message)
  ui.message.focus()
  const client = chat
  const request = kind === 'saving' ? client.edit(message.room, message.seq, text) : client.delete(message.room, message.seq)
  request.catch((err: Error) => {
    if (chat !== client) return
    changes.delete(key)
    notice(`Could not ${kind === 'saving' ? 'edit' : 'delete'} the message: ${err.message}`)
    const held = rooms.get(message.room)?.messages.get(message.seq)
    if (held !== undefined && message.room === active) showMessage(model, held)
  })
}

// ---- reactions ----------------------------------------------------------------------

/** Adds or removes the user's reaction, shown at once and until the server's state shows it. */
function react (message: Message, emoji: string, active: boolean): void {
  const client = chat
  if (client === undefined) return
  const { room, seq } = message
  const drop = reacting.want(room, seq, emoji, active)
  showEverywhere(room, seq)
  client.react(room, seq, emoji, active).then(() => {
    setTimeout(() => { if (chat === client && drop()) showEverywhere(room, seq) }, SETTLE_MS)
  }, (err: Error) => {
    if (chat !== client) return
    drop()
    notice(`Could not react: ${err.message}`)
    showEverywhere(room, seq)
  })
}

/** Shows a message again wherever the page shows it: the room's list and the thread panel. */
function showEverywhere (room: string, seq: number): void {
  const model = rooms.get(room)
  const held = model?.messages.get(seq)
  if (model !== undefined && held !== undefined && room === active && editing !== seq) showMessage(model, held)
  thread.refresh(room, seq)
}

// ---- threads ------------------------------------------------------------------------

const thread = new ThreadPanel({
  client: () => chat,
  itemFor: (message) => messageItem(message, { me, actions, place: 'thread', reactions: reactionsOf(message) }),
  held: (room, seq) => rooms.get(room)?.messages.get(seq),
  send: (room, text, replyTo, field) => sendText(room, text, { replyTo }, field),
  typing: (room, active) => {
    if (active) chat?.typing(room).catch(() => {})
    else stopTypingIn(room)
  },
  notice,
  toggled: (open, byUser) => {
    ui.chat.classList.toggle('with-thread', open)
    if (open || !byUser) return
    const opener = threadOpener
    threadOpener = undefined
    const back = opener === undefined ? null : itemOf(opener.seq)?.querySelector<HTMLElement>(`[data-focus="${opener.focus}"]`)
    ;(back ?? ui.message).focus()
  }
})

/** Opens the thread a message is in: its own, or its root's for a reply. */
function openThread (message: Message): void {
  const focused = document.activeElement
  const focus = focused instanceof HTMLElement && ui.messages.contains(focused) ? focused.dataset.focus : undefined
  threadOpener = focus === undefined ? undefined : { seq: message.seq, focus }
  thread.open(message.room, message.replyTo ?? message.seq, config?.maxText)
}

// ---- read state ---------------------------------------------------------------------

/** The user sees the active room: the page is visible and focused, and the newest message in view. */
function lookingAt (): boolean {
  return active !== undefined && document.visibilityState === 'visible' && document.hasFocus() && atBottom(ui.scroller)
}

/** Marks the active room read up to the newest message shown, when the user is looking at it. */
function markRead (): void {
  const model = active === undefined ? undefined : rooms.get(active)
  const newest = model?.newestSeq()
  if (chat === undefined || model === undefined || newest === undefined || newest <= model.readSeq || !lookingAt()) return
  model.note(newest, newest)
  showRooms()
  chat.read(model.id, newest).catch(() => {})
}

window.addEventListener('focus', markRead)
document.addEventListener('visibilitychange', markRead)
ui.scroller.addEventListener('scroll', () => { if (atBottom(ui.scroller)) markRead() }, { passive: true })

// ---- notifications ------------------------------------------------------------------

const push = new PushControls({
  section: byId('notifications'),
  toggle: byId<HTMLButtonElement>('push-toggle'),
  status: byId('push-status'),
  levelField: byId('notify-field'),
  level: byId<HTMLSelectElement>('notify-level'),
  client: () => chat,
  user: () => me,
  notice,
  openRoom: (room) => {
    if (!ID.test(room)) return
    if (chat === undefined) wantedRoom = room
    else openWanted(room)
  }
})

void loadConfig()
void push.load()
