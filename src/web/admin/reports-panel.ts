import type { AdminApi, Report } from './api.ts'
import { actionButton, byId, cell, element, timeElement } from './dom.ts'
import type { Feedback } from './feedback.ts'

/**
 * The moderation queue: open reports, oldest first, each with the message as it was reported
 * and two actions: dismiss (the message stays) and delete the message. Both take the report
 * out of the queue.
 */
export function reportsPanel (api: AdminApi, feedback: Feedback) {
  const ui = {
    title: byId('reports-title'),
    note: byId('reports-note'),
    scroll: byId('reports-scroll'),
    body: byId<HTMLTableSectionElement>('reports-body'),
    refresh: byId<HTMLButtonElement>('refresh-reports')
  }

  function row (report: Report): HTMLTableRowElement {
    const tr = element('tr')
    const where = element('th', undefined, `${report.room} #${report.seq}`)
    where.scope = 'row'
    const when = element('td')
    when.append(timeElement(report.time))
    const target = `report of ${report.room} message ${report.seq}`
    const actions = element('td', 'actions')
    actions.append(
      actionButton('Dismiss', target, () => { void resolve(report, 'dismiss') }),
      actionButton('Delete message', target, () => { void resolve(report, 'delete') }, 'danger-button')
    )
    tr.append(where, cell(report.message?.text ?? ''), cell(report.message?.user ?? ''), cell(report.reporter), cell(report.reason ?? ''), when, actions)
    return tr
  }

  function render (reports: Report[]): void {
    ui.scroll.hidden = reports.length === 0
    ui.body.replaceChildren(...reports.map(row))
    ui.note.textContent = reports.length === 0 ? 'No open reports.' : ''
    ui.note.hidden = ui.note.textContent === ''
  }

  async function load (): Promise<boolean> {
    try {
      render(await api.reports())
      return true
    } catch (err) {
      ui.note.hidden = false
      ui.note.textContent = 'The reports could not be listed.'
      feedback.fail('Could not list the reports', err)
      return false
    }
  }

  async function resolve (report: Report, action: 'dismiss' | 'delete'): Promise<void> {
    let failure: { err: unknown } | undefined
    try {
      await api.resolveReport(report.id, action)
    } catch (err) {
      failure = { err }
    }
    // The list is reloaded before the outcome is announced, so what is said matches what is shown.
    const listed = await load()
    const what = `the report of ${report.room} message ${report.seq}`
    if (failure !== undefined) feedback.fail(`Could not resolve ${what}`, failure.err)
    else if (listed) feedback.say(action === 'delete' ? `Message ${report.seq} of ${report.room} deleted; ${what} closed` : `${what[0]!.toUpperCase()}${what.slice(1)} dismissed`)
    if (!ui.body.contains(document.activeElement)) ui.title.focus()
  }

  ui.refresh.addEventListener('click', () => {
    void load().then((ok) => { if (ok) feedback.say('Reports refreshed') })
  })

  return { load }
}
