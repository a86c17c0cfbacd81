import type { AdminApi, Sanction, SanctionKind } from './api.ts'
import { actionButton, byId, cell, element, timeElement } from './dom.ts'
import type { Feedback } from './feedback.ts'

/**
 * The bans and mutes in force in the room the details show, each with a *Lift* button, and a
 * form to ban or mute a user for some minutes (empty: until lifted) with a reason. A ban kicks
 * the user's connections out of the room at once.
 */
export function sanctionsView (api: AdminApi, feedback: Feedback) {
  const ui = {
    form: byId<HTMLFormElement>('sanction-form'),
    user: byId<HTMLInputElement>('sanction-user'),
    minutes: byId<HTMLInputElement>('sanction-minutes'),
    reason: byId<HTMLInputElement>('sanction-reason'),
    body: byId<HTMLTableSectionElement>('sanctions-body'),
    scroll: byId('sanctions-scroll'),
    empty: byId('sanctions-empty'),
    title: byId('sanctions-title')
  }
  let room: string | undefined

  function row (kind: SanctionKind, sanction: Sanction): HTMLTableRowElement {
    const tr = element('tr')
    const user = element('th', 'mono', sanction.user)
    user.scope = 'row'
    const until = element('td')
    if (sanction.until === null) until.textContent = 'until lifted'
    else until.append(timeElement(sanction.until))
    const actions = element('td', 'actions')
    actions.append(actionButton('Lift', `${kind} of ${sanction.user}`, () => { void lift(kind, sanction.user) }))
    tr.append(user, cell(kind === 'ban' ? 'Banned' : 'Muted'), until, cell(sanction.reason ?? ''), actions)
    return tr
  }

  async function load (id: string): Promise<void> {
    try {
      const [bans, mutes] = await Promise.all([api.sanctions(id, 'ban'), api.sanctions(id, 'mute')])
      if (room !== id) return
      const rows = [...bans.map((ban) => row('ban', ban)), ...mutes.map((mute) => row('mute', mute))]
      ui.body.replaceChildren(...rows)
      ui.scroll.hidden = rows.length === 0
      ui.empty.hidden = rows.length > 0
    } catch (err) {
      feedback.fail(`Could not list the bans and mutes of room ${id}`, err)
    }
  }

  async function lift (kind: SanctionKind, user: string): Promise<void> {
    const id = room
    if (id === undefined) return
    try {
      await api.lift(id, kind, user)
      await load(id)
      feedback.say(`${kind === 'ban' ? 'Ban' : 'Mute'} of ${user} in ${id} lifted`)
    } catch (err) {
      feedback.fail(`Could not lift the ${kind} of ${user}`, err)
    }
    if (!ui.body.contains(document.activeElement)) ui.title.focus()
  }

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault()
    const id = room
    const kind = ((event as SubmitEvent).submitter as HTMLButtonElement | null)?.value === 'mute' ? 'mute' : 'ban'
    const user = ui.user.value.trim()
    const minutes = ui.minutes.value === '' ? undefined : Number(ui.minutes.value)
    const reason = ui.reason.value.trim()
    if (id === undefined || !ui.form.reportValidity()) return
    void (async () => {
      try {
        await api.sanction(id, kind, user, { durationMs: minutes === undefined ? undefined : Math.round(minutes * 60_000), reason: reason === '' ? undefined : reason })
        ui.user.value = ''
        ui.reason.value = ''
        await load(id)
        feedback.say(`${user} ${kind === 'ban' ? 'banned from' : 'muted in'} ${id}${minutes === undefined ? ' until lifted' : ` for ${minutes} min`}`)
      } catch (err) {
        feedback.fail(`Could not ${kind} ${user}`, err)
      }
    })()
  })

  return {
    open (id: string): void {
      if (room !== id) ui.body.replaceChildren()
      room = id
      void load(id)
    },
    refresh (): void {
      if (room !== undefined) void load(room)
    },
    close (): void {
      room = undefined
    }
  }
}
