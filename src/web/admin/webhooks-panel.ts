import type { AdminApi, FailedEvent } from './api.ts'
import { actionButton, byId, cell, element } from './dom.ts'
import type { Feedback } from './feedback.ts'

/**
 * Webhook events parked after their last attempt failed, each with a retry button. A server
 * without webhooks answers 404, which is said plainly rather than shown as an error.
 */
export function webhooksPanel (api: AdminApi, feedback: Feedback) {
  const ui = {
    title: byId('webhooks-title'),
    note: byId('webhooks-note'),
    scroll: byId('webhooks-scroll'),
    body: byId<HTMLTableSectionElement>('webhooks-body'),
    refresh: byId<HTMLButtonElement>('refresh-webhooks')
  }

  function row (event: FailedEvent): HTMLTableRowElement {
    const tr = element('tr')
    const id = element('th', 'mono', event.id)
    id.scope = 'row'
    const actions = element('td', 'actions')
    actions.append(actionButton('Retry', `event ${event.id}`, () => { void retry(event.id) }))
    tr.append(id, cell(event.type), cell(event.room), cell(event.url, 'url'), cell(String(event.attempts), 'numeric'),
      cell(event.lastError), actions)
    return tr
  }

  function render (events: FailedEvent[] | undefined): void {
    ui.scroll.hidden = events === undefined || events.length === 0
    ui.body.replaceChildren(...(events ?? []).map(row))
    ui.note.textContent = events === undefined
      ? 'Webhooks are not enabled on this server.'
      : events.length === 0 ? 'No failed events.' : ''
    ui.note.hidden = ui.note.textContent === ''
  }

  async function load (): Promise<boolean> {
    try {
      render(await api.failedWebhooks())
      return true
    } catch (err) {
      ui.note.hidden = false
      ui.note.textContent = 'The failed events could not be listed.'
      feedback.fail('Could not list the failed webhook events', err)
      return false
    }
  }

  async function retry (id: string): Promise<void> {
    let failure: { err: unknown } | undefined
    try {
      await api.retryWebhook(id)
    } catch (err) {
      failure = { err }
    }
    // The list is reloaded before the outcome is announced, so what is said matches what is shown.
    const listed = await load()
    if (failure !== undefined) feedback.fail(`Could not retry event ${id}`, failure.err)
    else if (listed) feedback.say(`Event ${id} is being sent again`)
    // The retried row is gone with its button: keep focus in the section.
    if (!ui.body.contains(document.activeElement)) ui.title.focus()
  }

  ui.refresh.addEventListener('click', () => {
    void load().then((ok) => { if (ok) feedback.say('Failed webhook events refreshed') })
  })

  return { load }
}
