import type { ClientConfig } from '../../schemas/client-config.ts'
import { AdminApi, type Room } from './api.ts'
import { byId } from './dom.ts'
import { feedback as makeFeedback } from './feedback.ts'
import { livePanel } from './live-panel.ts'
import { roomDetails } from './room-details.ts'
import { roomsPanel } from './rooms-panel.ts'
import { tokenStore } from './token-store.ts'
import { reportsPanel } from './reports-panel.ts'
import { userDataPanel } from './user-data-panel.ts'
import { sanctionsView } from './sanctions-view.ts'
import { webhooksPanel } from './webhooks-panel.ts'

/**
 * The operators' page: everything goes through the REST API with the admin token, which
 * the page asks for only when the server answers 401 (a server without CHAT_ADMIN_TOKEN
 * needs none).
 */

/** How often the room list and the open room's online users are reloaded. */
const ROOMS_EVERY_MS = 10_000

const ui = {
  authState: byId('auth-state'),
  forget: byId<HTMLButtonElement>('forget-token'),
  tokenView: byId('token-view'),
  tokenForm: byId<HTMLFormElement>('token-form'),
  token: byId<HTMLInputElement>('token'),
  tokenError: byId('token-error'),
  dashboard: byId('dashboard')
}

const tokens = tokenStore()
const feedback = makeFeedback()
// The page lives at /admin/: the API is at the service's root beside it.
const api = new AdminApi(new URL('../', location.href), () => tokens.get(), onUnauthorized)
const live = livePanel(api)
const webhooks = webhooksPanel(api, feedback)
const reports = reportsPanel(api, feedback)
userDataPanel(api, feedback)
const sanctions = sanctionsView(api, feedback)
const details = roomDetails(api, feedback, {
  changed: (room) => rooms.update(room),
  closed: (room, deleted, hadFocus) => {
    sanctions.close()
    rooms.select(undefined)
    if (deleted) {
      void rooms.load().then(() => { if (hadFocus) rooms.focusTarget().focus() })
    } else if (hadFocus) {
      rooms.focusTarget(room).focus()
    }
  }
})
const rooms = roomsPanel(api, feedback, (room: Room) => {
  rooms.select(room.id)
  details.open(room)
  sanctions.open(room.id)
})
let refresher: ReturnType<typeof setInterval> | undefined

function stop (): void {
  clearInterval(refresher)
  refresher = undefined
  live.stop()
}

/** Loads the rooms with the token there is (or none); shows the dashboard unless refused. */
async function enter (): Promise<void> {
  ui.tokenView.hidden = true
  if (await rooms.load() === 'unauthorized') return
  const token = tokens.get()
  ui.authState.textContent = token === undefined ? 'No admin token needed on this server' : 'Using the admin token'
  ui.forget.hidden = token === undefined
  ui.dashboard.hidden = false
  void webhooks.load()
  void reports.load()
  live.start()
  refresher ??= setInterval(() => {
    if (document.hidden) return
    void rooms.load()
    void details.refresh()
    sanctions.refresh()
  }, ROOMS_EVERY_MS)
}

/** A call answered 401: the token is missing or wrong. Asks for one, saying which. */
function onUnauthorized (): void {
  // Calls in flight together may each be refused: the first one asks.
  if (!ui.tokenView.hidden) return
  const refused = tokens.get() !== undefined
  stop()
  tokens.clear()
  details.close()
  ui.dashboard.hidden = true
  ui.forget.hidden = true
  ui.authState.textContent = ''
  feedback.clear()
  ui.tokenError.textContent = refused ? 'The server refused this token: check it and try again.' : ''
  ui.tokenView.hidden = false
  ui.token.focus()
  ui.token.select()
}

ui.tokenForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const token = ui.token.value.trim()
  if (token === '') {
    ui.tokenError.textContent = 'Type the admin token first.'
    return
  }
  ui.tokenError.textContent = ''
  tokens.set(token)
  void enter()
})

ui.forget.addEventListener('click', () => {
  tokens.clear()
  stop()
  details.close()
  ui.dashboard.hidden = true
  ui.forget.hidden = true
  feedback.say('The token is forgotten')
  void enter()
})

/**
 * The first visit: without a token in this tab, asks for one at once when the server wants one,
 * rather than calling the API without it (a refused token is logged and counted as an auth failure).
 */
async function start (): Promise<void> {
  if (tokens.get() === undefined && await asksForToken()) return onUnauthorized()
  await enter()
}

async function asksForToken (): Promise<boolean> {
  try {
    const response = await fetch('../client-config')
    return response.ok && (await response.json() as ClientConfig).adminToken
  } catch {
    return false
  }
}

void start()
